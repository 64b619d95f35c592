/**
 * Whether the code running right now, synchronously, is the code of the scope that holds a
 * lease (a transaction, cursor or connection scope's callback and the statements it runs). A
 * scope returns its session only after its observable completes, so a lease requested from inside
 * it that only its own session could serve would wait forever: the pool fails such a request
 * fast instead. Each lease carries its own scope, so no state is shared between leases, pools or
 * managers.
 */
export class LeaseScope {
  /** Nested entries into (true) and out of (false) the scope's code; the innermost decides. */
  readonly #frames: boolean[] = [];

  /** Runs `fn` as the scope's own code. */
  inside<T>(fn: () => T): T {
    return this.#run(true, fn);
  }

  /** Runs `fn` as code outside the scope (its values reaching its own subscriber downstream). */
  outside<T>(fn: () => T): T {
    return this.#run(false, fn);
  }

  /** Whether the scope's own code is running now. */
  get running(): boolean {
    const frames = this.#frames;
    return frames.length > 0 && frames[frames.length - 1];
  }

  #run<T>(inside: boolean, fn: () => T): T {
    this.#frames.push(inside);
    try {
      return fn();
    } finally {
      this.#frames.pop();
    }
  }
}
