// The parse budget: parsing and the stages are synchronous, so one large batch (or many from a flooding source)
// would hold the event loop and starve every socket, timer and the /healthz server. Pipeline work takes turns:
// whoever holds the turn works until `budgetMs` of synchronous work has passed, then hands the turn on through
// setImmediate (after the event loop's I/O phase), round-robin among the batches waiting. A batch that finishes
// inside the budget passes what is left of it straight to the next one.
import { performance } from 'node:perf_hooks';

export const DEFAULT_PARSE_BUDGET_MS = 10;

export class TurnBudget {
  private held = false;
  private deadline = 0;
  private readonly waiting: Array<() => void> = [];
  private scheduled = false;

  /** `budgetMs` ≤ 0 turns the budget off: acquire and pace never wait. */
  constructor(readonly budgetMs = DEFAULT_PARSE_BUDGET_MS) {}

  /** Wait for the turn. Resolves at once (synchronously usable) when nobody holds it. */
  acquire(): Promise<void> | undefined {
    if (this.budgetMs <= 0) return undefined;
    if (!this.held && this.waiting.length === 0) {
      this.held = true;
      this.deadline = performance.now() + this.budgetMs;
      return undefined;
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Between two units of work while holding the turn: undefined to go on, or a promise for the next turn. */
  pace(): Promise<void> | undefined {
    if (this.budgetMs <= 0 || performance.now() < this.deadline) return undefined;
    // Out of budget: queue behind the others and let the event loop run.
    const next = new Promise<void>((resolve) => this.waiting.push(resolve));
    this.handOn(true);
    return next;
  }

  /** Done with the turn. */
  release(): void {
    if (this.budgetMs <= 0) return;
    this.handOn(performance.now() >= this.deadline);
  }

  private handOn(nextTurn: boolean): void {
    this.held = false;
    if (this.waiting.length === 0) return;
    if (!nextTurn) {
      this.held = true;
      (this.waiting.shift() as () => void)();
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const next = this.waiting.shift();
      if (!next) return;
      this.held = true;
      this.deadline = performance.now() + this.budgetMs;
      next();
    });
  }
}
