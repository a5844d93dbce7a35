import type { RequestRecord } from '../../core/record.js';
import type { RecordExporter } from '../../exporter/exporter.js';
import { builtRecord, type RecordSource } from '../../exporter/record-source.js';

/** Forwards to a real exporter and keeps every record, for assertions on what was written. */
export class TeeExporter implements RecordExporter {
  /** `records`: an array to fill, when the caller already holds one. */
  constructor(
    private readonly _next?: RecordExporter,
    readonly records: RequestRecord[] = [],
  ) {}
  export(source: RecordSource): void {
    const record = builtRecord(source);
    this.records.push(record);
    this._next?.export(record);
  }
  async forceFlush(): Promise<void> {
    await this._next?.forceFlush();
  }
  async shutdown(): Promise<void> {
    await this._next?.shutdown();
  }
}
