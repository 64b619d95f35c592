/**
 * A NOTICE (or WARNING, INFO, DEBUG) message sent by the server during a session.
 *
 * @category Driver seam
 */
export interface ServerNotice {
  readonly severity: string;
  readonly message: string;
  readonly sqlState: string | undefined;
  readonly detail: string | undefined;
  readonly hint: string | undefined;
  readonly where: string | undefined;
}
