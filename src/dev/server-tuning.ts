/**
 * Dynamic config for delivery latency, given to every Temporal server this project runs: the dev
 * server (`npm start`, the tests, the bench), `npm run cluster` and docker-compose (its file
 * `deploy/temporal/dynamic-config.yaml`, kept equal by a unit test).
 *
 * A history shard reads the tasks it hands to matching (a new workflow's first workflow task,
 * a signal's task, a child workflow's start) at most `history.transferProcessorMaxPollRPS` times a
 * second: 20 by default, made for servers with hundreds of shards. A dev server has one shard and
 * a small cluster a few, so there a started delivery's first task waited 25 ms on average before
 * a worker could get it (measured at 20 deliveries/s: 23–26 ms of a 54 ms median e2e), and a FIFO
 * endpoint, whose every step is a signal, ran at 0.12 of the unordered rate.
 *
 * More reads cost the server CPU when it is saturated (each read takes fewer tasks): at 500 reads
 * a second the file-backed dev server spent 24.1 ms of CPU per delivery against 18.3 ms at 20,
 * and fell below 0.8 of the in-memory one's throughput. 100 keeps most of the gain (first-task
 * wait 3.4 ms p50 at 18 deliveries/s, FIFO at 0.38 of the unordered rate) with the file store at
 * 0.94 of the in-memory one.
 */
export const LATENCY_DYNAMIC_CONFIG: Readonly<Record<string, number>> = {
  'history.transferProcessorMaxPollRPS': 100,
};

/**
 * Dynamic config the dev server gets beside {@link LATENCY_DYNAMIC_CONFIG}: the search-attribute
 * cache turned back on. The Temporal CLI's dev server turns it off
 * (`system.forceSearchAttributesCacheRefreshOnRead: true`, so that an attribute created while it
 * runs is seen at once), and then reads the attributes' definitions from its database every time
 * a service validates or maps a workflow's attributes. A delivery carries five, and its server
 * read them back six times per delivery (the floor's, without custom attributes, three), plus a
 * namespace read: about 1.5 ms (12 %) of its 10–13 ms of CPU per delivery, measured on 2026-12-04
 * (docs/benchmark.md, twenty-second session). Servers off the CLI cache them by default (this
 * is that default), for a minute: the dev server's attributes are registered as it starts
 * (`--search-attribute`), and one started on a file that lacked some is started again after
 * registering them (`startTemporalDevServer`), so every service reads them fresh.
 */
export const DEV_SERVER_DYNAMIC_CONFIG: Readonly<Record<string, boolean>> = {
  'system.forceSearchAttributesCacheRefreshOnRead': false,
};

/**
 * Timer slack of every Temporal server process this project starts (the dev server, `npm run
 * cluster`'s server, docker-compose's): how late, at most, Linux may fire a timer one of its
 * threads sleeps on, so that timers due close together wake the thread once. The kernel's
 * default is 50 µs. A Go server at a light load wakes its threads on short timers again and
 * again: the runtime's monitor thread (`sysmon`, sleeping 20 µs to 10 ms between its checks) and
 * the idle processors' timed waits. Measured on 2026-12-07 (docs/benchmark.md, forty-second
 * session): at 43 deliveries/s the dev server's threads woke 101 times per delivery, 57 of them
 * the monitor's; with 1 ms of slack, 26–30 times at 55–57/s. In a pair of runs at 57/s, half the
 * service's capacity, it spent 7.1–7.4 ms of CPU per delivery instead of 8.5–9.2, the cores were
 * 59–65 % busy instead of 70–72, and the API's ingest p99 fell from 50.3 to 35.5 ms. Saturated,
 * within the noise. Nothing the server does waits on a timer to the millisecond: its long polls,
 * retries and rate limits run in tens of milliseconds and more.
 */
export const SERVER_TIMER_SLACK_NS = 1_000_000;

/** `--dynamic-config-value key=value` arguments of `temporal server start-dev`. */
export function devServerDynamicConfigArgs(): string[] {
  return Object.entries({ ...LATENCY_DYNAMIC_CONFIG, ...DEV_SERVER_DYNAMIC_CONFIG }).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]);
}

/** The same as a server's dynamic config file entries (`key: [{value, constraints}]`). */
export function dynamicConfigEntries(): Record<string, Array<{ value: number; constraints: Record<string, never> }>> {
  return Object.fromEntries(Object.entries(LATENCY_DYNAMIC_CONFIG).map(([key, value]) => [key, [{ value, constraints: {} }]]));
}
