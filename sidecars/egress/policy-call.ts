/**
 * The one way the mechanism calls the policy: a throw becomes a
 * `policy-error` denial, so a bug in a decision refuses the request instead
 * of crashing the proxy or letting the request through.
 */
import { EgressDenial, isEgressDenial } from './deny.js'

export function callPolicy<T>(decide: () => T): T | EgressDenial {
  try {
    return decide()
  } catch (error) {
    if (isEgressDenial(error)) return error
    const denial = new EgressDenial('policy-error', 'the egress policy failed on this request; refused')
    denial.cause = error
    return denial
  }
}

export function isDenied<T>(value: T | EgressDenial): value is EgressDenial {
  return value instanceof EgressDenial
}
