/**
 * The guestbook demo: a small Hono app in the spirit of App Engine's classic guestbook, reading and
 * writing greetings in Datastore with memcache in front, plus pages with the problems appstats is
 * for (an N+1 loop, a duplicate call, a slow page, a failing page), a JSON API and a background job.
 *
 * It is instrumented the way a user's app is: started with the register entry
 * (`node --import otel-appstats/register demo/app.js`; here, from source, `--import ./register.ts`),
 * and the viewer is mounted with `createViewer` at /_ah/stats. `npm start` (demo/launcher.ts)
 * starts it with memcached and the Datastore emulator when they are on the machine.
 *
 * Environment: PORT, HOST, APPSTATS_MEMCACHE (records, and the app's own cache),
 * DATASTORE_EMULATOR_HOST (Datastore pages; off when unset), DEMO_JOB_INTERVAL_MS.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Datastore } from '@google-cloud/datastore';
import { serve } from '@hono/node-server';
import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { Hono } from 'hono';
import { html } from 'hono/html';
import memjs from 'memjs';
// A user writes: import { createViewer } from 'otel-appstats/viewer';
import { createViewer } from '../viewer/index.js';

interface Greeting {
  id: string;
  author: string;
  content: string;
  date: string;
}

const memcacheServers = process.env.APPSTATS_MEMCACHE;
const datastoreHost = process.env.DATASTORE_EMULATOR_HOST;
const repoRoot = fileURLToPath(new URL('..', import.meta.url));

/** The app's cache: memcached through memjs when there is one, else a Map. */
const cache = memcacheServers ? memjs.Client.create(memcacheServers, { logger: { log() {} } }) : undefined;
const localCache = new Map<string, string>();

/**
 * The stand-ins used when memcached or Datastore is missing make their own CLIENT spans through the
 * OpenTelemetry API, as any instrumented client does: appstats records them like the real calls
 * (named from `db.system.name` + `db.operation.name`), so the dashboard is never empty.
 */
async function localCall<T>(system: string, operation: string, summary: string, work: () => T): Promise<T> {
  return trace.getTracer('guestbook-demo').startActiveSpan(
    `${operation} ${system}`,
    {
      kind: SpanKind.CLIENT,
      attributes: { 'db.system.name': system, 'db.operation.name': operation, 'db.query.text': summary },
    },
    async (span) => {
      try {
        await sleep(0.2); // roughly what a round trip to a real server costs
        return work();
      } finally {
        span.end();
      }
    },
  );
}

async function cacheGet(key: string): Promise<string | undefined> {
  if (!cache) return localCall('in-process-cache', 'get', key, () => localCache.get(key));
  const { value } = await cache.get(key);
  return value?.toString();
}
async function cacheSet(key: string, value: string, expires = 60): Promise<void> {
  if (!cache) await localCall('in-process-cache', 'set', key, () => localCache.set(key, value));
  else await cache.set(key, value, { expires });
}
async function cacheDelete(key: string): Promise<void> {
  if (!cache) await localCall('in-process-cache', 'delete', key, () => localCache.delete(key));
  else await cache.delete(key);
}

const datastore = datastoreHost
  ? new Datastore({ projectId: process.env.DATASTORE_PROJECT_ID ?? 'guestbook-demo' })
  : undefined;
/** Greetings when Datastore is off, so the pages still work. */
const localGreetings: Greeting[] = [];

const GUESTBOOK = 'default';
const guestbookKey = () => datastore!.key(['Guestbook', GUESTBOOK]);

async function loadGreetings(limit = 10): Promise<Greeting[]> {
  if (!datastore)
    return localCall('in-process-store', 'query', `Greeting limit ${limit}`, () =>
      localGreetings.slice(0, limit),
    );
  const query = datastore
    .createQuery('Greeting')
    .hasAncestor(guestbookKey())
    .order('date', { descending: true })
    .limit(limit);
  const [entities] = await datastore.runQuery(query);
  return entities.map((e) => ({
    id: String(e[datastore.KEY].id ?? e[datastore.KEY].name),
    author: String(e.author),
    content: String(e.content),
    date: new Date(e.date).toISOString(),
  }));
}

/** The cached front page: memcache first, Datastore on a miss. */
async function recentGreetings(): Promise<Greeting[]> {
  const cached = await cacheGet('greetings:recent');
  if (cached) return JSON.parse(cached) as Greeting[];
  const greetings = await loadGreetings();
  await cacheSet('greetings:recent', JSON.stringify(greetings));
  return greetings;
}

async function sign(author: string, content: string): Promise<void> {
  const greeting = { author, content, date: new Date() };
  if (datastore) {
    await datastore.save([
      { key: datastore.key(['Guestbook', GUESTBOOK, 'Greeting']), data: greeting },
      { key: datastore.key(['Author', author]), data: { name: author, signedAt: greeting.date } },
    ]);
  } else {
    localGreetings.unshift({
      id: String(localGreetings.length + 1),
      ...greeting,
      date: greeting.date.toISOString(),
    });
  }
  await cacheDelete('greetings:recent');
}

const app = new Hono();

function page(title: string, body: unknown) {
  const banner = [
    !datastore
      ? html`<p class="note">Datastore is off: greetings live in memory. Install the emulator
          (<code>gcloud components install cloud-datastore-emulator</code>, needs Java) and run
          <code>npm start</code> again, or set <code>DATASTORE_EMULATOR_HOST</code>.</p>`
      : '',
    !cache
      ? html`<p class="note">memcached is off: the cache is a Map, so no memcache calls show. Install it
          (<code>apt-get install memcached</code>) or set <code>APPSTATS_MEMCACHE</code>.</p>`
      : '',
  ];
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <title>${title} · guestbook demo</title>
        <style>
          body { font: 15px/1.5 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; }
          .note { background: #fff4d6; padding: .5rem .75rem; border-radius: 4px; }
          nav a { margin-right: .75rem; }
          blockquote { margin: .25rem 0 1rem; }
        </style>
      </head>
      <body>
        <nav>
          <a href="/">Guestbook</a><a href="/authors">Authors (N+1)</a><a href="/duplicate">Duplicate</a
          ><a href="/slow">Slow</a><a href="/fail">Fails</a><a href="/api/greetings">JSON</a
          ><a href="/_ah/stats"><strong>Appstats</strong></a>
        </nav>
        ${banner}
        <h1>${title}</h1>
        ${body}
      </body>
    </html>`;
}

app.get('/', async (c) => {
  const greetings = await recentGreetings();
  return c.html(
    page(
      'Guestbook',
      html`<form method="post" action="/sign">
          <input name="author" placeholder="Your name" required />
          <input name="content" placeholder="Say hello" required size="40" />
          <button>Sign</button>
        </form>
        ${greetings.map((g) => html`<p><b>${g.author}</b> wrote:</p><blockquote>${g.content}</blockquote>`)}`,
    ),
  );
});

app.post('/sign', async (c) => {
  const form = await c.req.parseBody();
  const author = String(form.author ?? '').slice(0, 60) || 'anonymous';
  const content = String(form.content ?? '').slice(0, 500);
  await sign(author, content);
  return c.redirect('/', 303);
});

// N+1: one query, then one lookup per greeting, one after another.
app.get('/authors', async (c) => {
  const greetings = await loadGreetings(10);
  const authors: string[] = [];
  for (const greeting of greetings) {
    if (datastore) {
      const [author] = await datastore.get(datastore.key(['Author', greeting.author]));
      authors.push(
        author
          ? `${greeting.author} (signed ${new Date(author.signedAt).toLocaleString()})`
          : greeting.author,
      );
    } else {
      authors.push((await cacheGet(`author:${greeting.author}`)) ?? greeting.author);
    }
  }
  return c.html(page('Authors', html`<ul>${authors.map((a) => html`<li>${a}</li>`)}</ul>`));
});

// The same call twice in one request.
app.get('/duplicate', async (c) => {
  const first = await recentGreetings();
  const again = await recentGreetings();
  if (datastore && first[0]) {
    await datastore.get(datastore.key(['Author', first[0].author]));
    await datastore.get(datastore.key(['Author', first[0].author]));
  }
  return c.html(page('Duplicate', html`<p>Read the same ${again.length} greetings twice.</p>`));
});

app.get('/slow', async (c) => {
  await cacheGet('greetings:recent');
  await sleep(250); // a slow template, a slow service: the timeline shows the gap
  const greetings = await recentGreetings();
  return c.html(page('Slow page', html`<p>${greetings.length} greetings, after a 250 ms pause.</p>`));
});

// Fails on purpose: Datastore's emulator has no aggregation queries; without Datastore, memcached
// refuses to increment a value that is not a number.
app.get('/fail', async (c) => {
  try {
    if (datastore) {
      await datastore.runAggregationQuery(
        datastore.createAggregationQuery(datastore.createQuery('Greeting')).count('n'),
      );
    } else if (cache) {
      await cache.set('not-a-number', 'abc', {});
      await cache.increment('not-a-number', 1, {});
    } else {
      throw new Error('deliberate failure');
    }
    return c.html(page('Fails', html`<p>It worked this time.</p>`));
  } catch (error) {
    trace.getActiveSpan()?.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    return c.html(page('Fails', html`<p>Failed as intended: ${(error as Error).message}</p>`), 500);
  }
});

app.get('/api/greetings', async (c) => c.json(await recentGreetings()));

// The viewer, on the same server. A user writes the same line with 'otel-appstats/viewer'.
app.route('/_ah/stats', createViewer({ sourceRoot: repoRoot, title: 'Guestbook demo' }));

/** A background job: a root span that is not an HTTP request, recorded under its name. */
async function refreshCounts(): Promise<void> {
  await trace.getTracer('guestbook-demo').startActiveSpan('job: refresh greeting count', async (span) => {
    try {
      const count = datastore
        ? (
            await datastore.runQuery(
              datastore.createQuery('Greeting').hasAncestor(guestbookKey()).select('__key__'),
            )
          )[0].length
        : localGreetings.length;
      await cacheSet('greetings:count', String(count), 300);
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    } finally {
      span.end();
    }
  });
}

async function seed(): Promise<void> {
  await trace.getTracer('guestbook-demo').startActiveSpan('job: seed greetings', async (span) => {
    try {
      const existing = await loadGreetings(1);
      if (existing.length === 0) {
        const people = ['Ada', 'Grace', 'Alan', 'Barbara', 'Edsger'];
        for (let i = 0; i < 8; i++) await sign(people[i % people.length], `Hello from greeting ${i + 1}!`);
      }
    } finally {
      span.end();
    }
  });
}

await seed();
const job = setInterval(() => void refreshCounts(), Number(process.env.DEMO_JOB_INTERVAL_MS ?? 15_000));
job.unref();
void refreshCounts();

const server = serve(
  { fetch: app.fetch, hostname: process.env.HOST ?? '127.0.0.1', port: Number(process.env.PORT ?? 8080) },
  (info) => {
    // The launcher waits for this line.
    console.log(`guestbook demo listening on http://${info.address}:${info.port}/`);
  },
);

function stop(): void {
  clearInterval(job);
  server.close();
  cache?.close();
  // Give the last records a moment to be written, then leave even if keep-alive sockets linger.
  setTimeout(() => process.exit(0), 300).unref();
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
