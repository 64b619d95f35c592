import { describeRole, suits, type ServerRole } from './connect-to-hosts.js';
import type { TargetSessionAttrs } from './postgres-connection-params.js';

/**
 * The role a server reports about itself, live: `in_hot_standby` and
 * `default_transaction_read_only` are sent again whenever they change (servers from 14 on), so a
 * promotion reaches every open session with its next statement. Undefined when the server does
 * not report them.
 */
export function reportedRole(parameters: ReadonlyMap<string, string>): ServerRole | undefined {
  const standby = parameters.get('in_hot_standby');
  const readOnly = parameters.get('default_transaction_read_only');
  if (standby === undefined || readOnly === undefined) return undefined;
  return { inHotStandby: standby === 'on', readOnly: readOnly === 'on' };
}

/**
 * Why a session no longer serves its config: its server suited `target` when the session opened
 * and does not now (a standby promoted under a `standby` or `read-only` config; a primary turned
 * read-only under a `read-write` one). `prefer-standby` counts as `standby` here: a session that
 * found a standby and lost it makes room for one that looks for a standby again, while a session
 * that fell back to the primary stays. Undefined while the session still suits, or when the roles
 * are not known.
 */
export function roleChange(target: TargetSessionAttrs, atOpen: ServerRole | undefined, now: ServerRole | undefined): string | undefined {
  if (target === 'any' || atOpen === undefined || now === undefined) return undefined;
  const strict = target === 'prefer-standby' ? 'standby' : target;
  if (!suits(strict, atOpen) || suits(strict, now)) return undefined;
  return `its server was ${describeRole(atOpen)} and is now ${describeRole(now)}, not what target_session_attrs=${target} asks for`;
}
