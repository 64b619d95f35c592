// pg's value serialiser, used so parameters are sent exactly as pg users expect.
declare module 'pg/lib/utils.js' {
  const utils: { prepareValue(value: unknown): string | Buffer | null };
  export default utils;
}
