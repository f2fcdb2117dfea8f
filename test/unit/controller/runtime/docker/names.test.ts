import { describe, expect, it } from 'vitest'
import { dockerNames, isOwned, ownershipFilter, ownershipLabels, runtimeOwner } from '../../../../../controller/runtime/docker/names.js'

describe('dockerNames', () => {
  const cases = [
    {
      name: 'the default instance has no instance part',
      instance: 'default',
      agent: 'dev',
      want: {
        prefix: 'bottle-dev',
        agent: 'bottle-dev-agent',
        sidecars: 'bottle-dev-sidecars',
        internalNetwork: 'bottle-dev-internal',
        egressNetwork: 'bottle-dev-egress',
        workspace: 'bottle-dev-workspace',
      },
    },
    {
      name: 'another instance is part of every name',
      instance: 'ci',
      agent: 'implementer',
      want: {
        prefix: 'bottle-ci-implementer',
        agent: 'bottle-ci-implementer-agent',
        sidecars: 'bottle-ci-implementer-sidecars',
        internalNetwork: 'bottle-ci-implementer-internal',
        egressNetwork: 'bottle-ci-implementer-egress',
        workspace: 'bottle-ci-implementer-workspace',
      },
    },
  ]
  it.each(cases)('$name', ({ instance, agent, want }) => {
    expect(dockerNames(instance, agent)).toEqual(want)
  })

  const refusals = [
    { name: 'an uppercase agent', instance: 'default', agent: 'Dev', error: /agent "Dev" must match/ },
    { name: 'an agent with a slash', instance: 'default', agent: 'a/b', error: /agent "a\/b" must match/ },
    { name: 'an empty agent', instance: 'default', agent: '', error: /agent "" must match/ },
    { name: 'an instance with two dots', instance: 'c.i.x', agent: 'dev', error: /instance "c.i.x" must match/ },
    { name: 'an owner with an uppercase runtime', instance: 'ci.VM', agent: 'dev', error: /instance "ci.VM" must match/ },
    { name: 'an over-long agent', instance: 'default', agent: `a${'b'.repeat(53)}`, error: /must match/ },
  ]
  it.each(refusals)('refuses $name', ({ instance, agent, error }) => {
    expect(() => dockerNames(instance, agent)).toThrow(error)
  })
})

describe('runtimeOwner: whose Docker objects they are', () => {
  it('is the instance for the docker runtime, and the instance and runtime after a dot for another', () => {
    expect(runtimeOwner('ci')).toBe('ci')
    expect(runtimeOwner('ci', 'docker')).toBe('ci')
    expect(runtimeOwner('ci', 'vm')).toBe('ci.vm')
    expect(dockerNames(runtimeOwner('ci', 'vm'), 'dev').sidecars).toBe('bottle-ci.vm-dev-sidecars')
    expect(dockerNames(runtimeOwner('default', 'vm'), 'dev').sidecars).toBe('bottle-default.vm-dev-sidecars')
  })

  it('refuses an instance with a dot, so no instance can take another runtime\'s objects for its own', () => {
    expect(() => runtimeOwner('c.vm')).toThrow(/instance "c.vm" must match/)
    expect(() => runtimeOwner('ci', 'v-m')).toThrow(/cannot name an owner/)
  })

  it('keeps the runtimes of one instance apart', () => {
    const vmBundle = ownershipLabels(runtimeOwner('ci', 'vm'), 'dev', 'sidecars')
    expect(isOwned(vmBundle, 'ci')).toBe(false)
    expect(isOwned(vmBundle, 'ci.vm')).toBe(true)
    expect(isOwned(ownershipLabels('ci', 'dev', 'sidecars'), 'ci.vm')).toBe(false)
  })
})

describe('ownership', () => {
  it('labels an object with managed, instance, agent and role', () => {
    expect(ownershipLabels('ci', 'dev', 'workspace')).toEqual({
      'bottle.dev/managed': 'true',
      'bottle.dev/instance': 'ci',
      'bottle.dev/agent': 'dev',
      'bottle.dev/role': 'workspace',
    })
  })

  it('filters by managed and instance, and by agent when asked', () => {
    expect(ownershipFilter('ci')).toEqual(['bottle.dev/managed=true', 'bottle.dev/instance=ci'])
    expect(ownershipFilter('ci', 'dev')).toEqual(['bottle.dev/managed=true', 'bottle.dev/instance=ci', 'bottle.dev/agent=dev'])
  })

  const owned = ownershipLabels('ci', 'dev', 'agent')
  const cases = [
    { name: 'its own labels', labels: owned, agent: 'dev', want: true },
    { name: 'any agent of the instance when none is named', labels: owned, agent: undefined, want: true },
    { name: 'another agent', labels: owned, agent: 'other', want: false },
    { name: 'another instance', labels: { ...owned, 'bottle.dev/instance': 'prod' }, agent: 'dev', want: false },
    { name: 'managed=false', labels: { ...owned, 'bottle.dev/managed': 'false' }, agent: 'dev', want: false },
    { name: 'no labels at all', labels: null, agent: 'dev', want: false },
  ]
  it.each(cases)('isOwned: $name -> $want', ({ labels, agent, want }) => {
    expect(isOwned(labels, 'ci', agent)).toBe(want)
  })
})
