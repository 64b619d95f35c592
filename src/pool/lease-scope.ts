import { AsyncLocalStorage } from 'node:async_hooks';

/** The kind of scope that holds a lease: what the user called, and so which handle it has. */
export type ScopeKind = 'transaction' | 'cursor' | 'connection';

/**
 * The innermost scope whose code runs now, carried across awaits, promises and timers the
 * scope's code starts. Only tracked scopes set it (`scopeBypass` not `'off'`); Node enables its
 * promise hooks from the first tracked scope on.
 */
const around = new AsyncLocalStorage<LeaseScope | undefined>();

/**
 * Whether the code running right now is the code of the scope that holds a lease (a
 * transaction, cursor or connection scope's callback and the statements it runs). A scope
 * returns its session only after its observable completes, so a lease requested from inside it
 * that only its own session could serve would wait forever: the pool fails such a request fast
 * instead, and the manager reports (or refuses) any statement of the same pool started there
 * without the scope's handle. Synchronously, each scope keeps its own frames, so no state is
 * shared between leases, pools or managers; a tracked scope also follows its code across awaits
 * with AsyncLocalStorage, each scope pointing at the one its lease was requested from.
 */
export class LeaseScope {
  /** What the user called (set by the manager when it makes the scope). */
  kind: ScopeKind = 'connection';
  /** Nested entries into (true) and out of (false) the scope's code; the innermost decides. */
  readonly #frames: boolean[] = [];
  readonly #owner: unknown;
  readonly #parent: LeaseScope | undefined;
  readonly #held: () => boolean;
  readonly #tracked: boolean;

  /**
   * @param owner the pool whose lease this scope holds
   * @param parent the scope the lease was requested from, if any (its code resumes outside this one)
   * @param held whether the lease is still held
   * @param tracked whether to follow the scope's code across awaits
   */
  constructor(owner: unknown, parent: LeaseScope | undefined, held: () => boolean, tracked: boolean) {
    this.#owner = owner;
    this.#parent = parent;
    this.#held = held;
    this.#tracked = tracked;
  }

  /** The scope whose code runs now (following awaits), if any: a lease's `parent`. */
  static current(): LeaseScope | undefined {
    return around.getStore();
  }

  /**
   * The scope of `owner`'s lease, still held, whose code (or code it started, across awaits)
   * runs now: a statement of `owner` started now bypasses that scope's handle.
   */
  static heldAround(owner: unknown): LeaseScope | undefined {
    for (let scope = around.getStore(); scope !== undefined; scope = scope.#parent) {
      if (scope.#owner === owner && scope.#held()) return scope;
    }
    return undefined;
  }

  /**
   * Runs `fn` as code of `scope` (or of no scope): a lease granted later runs its holder's code in
   * the holder's context, and what a pool starts for everyone (a session's socket) belongs to no scope.
   */
  static runIn<T>(scope: LeaseScope | undefined, fn: () => T): T {
    return around.getStore() === scope ? fn() : around.run(scope, fn);
  }

  /** Runs `fn` as the scope's own code. */
  inside<T>(fn: () => T): T {
    return this.#run(true, fn);
  }

  /** Runs `fn` as code outside the scope (its values reaching its own subscriber downstream). */
  outside<T>(fn: () => T): T {
    return this.#run(false, fn);
  }

  /** Whether the scope's own code is running now: synchronously, or (tracked) across awaits. */
  get running(): boolean {
    const frames = this.#frames;
    if (frames.length > 0) return frames[frames.length - 1];
    if (!this.#tracked) return false;
    for (let scope = around.getStore(); scope !== undefined; scope = scope.#parent) if (scope === this) return true;
    return false;
  }

  #run<T>(inside: boolean, fn: () => T): T {
    this.#frames.push(inside);
    try {
      return this.#tracked ? LeaseScope.runIn(inside ? this : this.#parent, fn) : fn();
    } finally {
      this.#frames.pop();
    }
  }
}
