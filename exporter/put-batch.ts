import type { RecordStore, StoredRecord } from '../stores/record-store.js';

/**
 * Writes a batch; never rejects, whatever the store does (throws at once, rejects, answers
 * nonsense). Resolves to the records not written, and why.
 */
export async function putBatch(
  store: RecordStore,
  batch: StoredRecord[],
  expires: number,
): Promise<{ failed: number; error?: unknown }> {
  if (store.putRecords) {
    try {
      const outcome = await store.putRecords(batch, expires);
      const failed = outcome?.failed;
      if (Number.isInteger(failed) && failed >= 0 && failed <= batch.length) return outcome;
      return { failed: batch.length, error: `the store answered ${JSON.stringify(outcome)}` };
    } catch (error) {
      // A custom store that rejects after all: nothing of the batch counts as written.
      return { failed: batch.length, error };
    }
  }
  const results = await Promise.allSettled(
    // Inside the promise chain: a store that throws at once fails its record, not the app.
    batch.map(({ keys, values }) => Promise.resolve().then(() => store.putRecord(keys, values, expires))),
  );
  const failures = results.filter((result) => result.status === 'rejected');
  return { failed: failures.length, error: failures[0]?.reason };
}
