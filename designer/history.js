/* metrolab form designer — undo / redo: stacks of definition snapshots (JSON strings).
 *
 * Pure: the page records a snapshot before each change and restores the one undo/redo hands back.
 * A new change after an undo drops what could have been redone; at most LIMIT steps are kept.
 */

export const LIMIT = 200;

export class History {
  constructor(limit) {
    this.limit = limit || LIMIT;
    this.undos = [];
    this.redos = [];
  }

  /** Remember the state before a change. */
  record(before) {
    this.undos.push(before);
    if (this.undos.length > this.limit) this.undos.shift();
    this.redos = [];
  }

  canUndo() { return this.undos.length > 0; }
  canRedo() { return this.redos.length > 0; }

  /** The state to go back to from `current`, or null when there is none. */
  undo(current) {
    if (!this.undos.length) return null;
    this.redos.push(current);
    return this.undos.pop();
  }

  /** The state undone last, from `current`, or null. */
  redo(current) {
    if (!this.redos.length) return null;
    this.undos.push(current);
    return this.redos.pop();
  }
}
