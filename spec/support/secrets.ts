/**
 * Every password a test uses contains this marker, so `secret-watch.ts` can search everything
 * the suite prints, inspects or stringifies for any of them.
 */
export const SECRET_MARKER = 'rxpg-test-secret';

/** A test password, recognisable by the watcher. */
export function testPassword(label: string): string {
  return `${SECRET_MARKER}-${label}`;
}
