#!/usr/bin/env node
import { main } from '../dist/controller/cli/main.js'

process.exitCode = await main(process.argv)
