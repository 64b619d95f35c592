/** One line of a marble diagram: a marble string as RxJS's TestScheduler writes it. */
export interface Lane {
  readonly label: string;
  readonly marbles: string;
  /** What the letters stand for (drawn inside the marbles when short, else below). */
  readonly values?: Readonly<Record<string, string>>;
  /** A subscription marble (`^` … `!`) drawn as a bracketed span rather than events. */
  readonly subscription?: boolean;
}

/**
 * A timing contract as data: the tests assert these lanes, and `npm run diagrams` draws them, so
 * the picture in the docs is the tested behaviour.
 */
export interface MarbleDiagram {
  readonly name: string;
  readonly title: string;
  readonly caption: string;
  readonly lanes: readonly Lane[];
}

/** Turns `(at, letter)` pairs into a marble string (letters at one frame become a group). */
export function marblesOf(events: readonly { at: number; letter: string }[], end?: { at: number; letter: '|' | '#' }): string {
  const byFrame = new Map<number, string[]>();
  for (const event of events) byFrame.set(event.at, [...(byFrame.get(event.at) ?? []), event.letter]);
  if (end) byFrame.set(end.at, [...(byFrame.get(end.at) ?? []), end.letter]);
  let marbles = '';
  let frame = 0;
  for (const at of [...byFrame.keys()].sort((a, b) => a - b)) {
    marbles += '-'.repeat(Math.max(0, at - frame));
    const letters = byFrame.get(at) as string[];
    marbles += letters.length === 1 ? letters[0] : `(${letters.join('')})`;
    // A group takes as many frames as it has characters, as TestScheduler counts them.
    frame = at + (letters.length === 1 ? 1 : letters.length + 2);
  }
  return marbles;
}
