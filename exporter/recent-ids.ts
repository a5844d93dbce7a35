/**
 * A set of span ids that forgets its oldest past `max`: the ids of requests already written, so
 * spans ending late are counted rather than silently lost, in bounded memory.
 */
export class RecentIds {
  private readonly _ids = new Set<string>();

  constructor(private readonly _max: number) {}

  add(id: string): void {
    this._ids.add(id);
    if (this._ids.size > this._max) {
      // Sets iterate in insertion order: the first is the oldest.
      const oldest = this._ids.values().next().value;
      if (oldest !== undefined) this._ids.delete(oldest);
    }
  }

  has(id: string): boolean {
    return this._ids.has(id);
  }

  /** Forgets `id`; says whether it was there. */
  delete(id: string): boolean {
    return this._ids.delete(id);
  }
}
