#!/usr/bin/env node
import '../dist/controller/cli/main.js'
