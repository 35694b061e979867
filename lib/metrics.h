/*
 * metrics: a small thread-safe Prometheus registry for the process.
 *
 *   static struct metrics_counter *handled;
 *   handled = metrics_counter_register("signpost_intake_handled_total",
 *                                      "Records handled.", "topic",
 *                                      "referral.commands", METRICS_END);
 *   metrics_counter_inc(handled);
 *
 * A metric is a family (name, help, type) with one series per label set.
 * Labels are given as key, value pairs ending in METRICS_END (a typed
 * NULL; no labels: just METRICS_END).
 * Registering a name and label set that exist returns the same handle, so
 * code may register lazily. Handles are borrowed and valid for the process
 * lifetime. Updates are lock-free; registration and rendering take one
 * mutex. Invalid names, or one name used with two types, are programming
 * errors: the process prints why and aborts.
 */
#ifndef SIGNPOST_METRICS_H
#define SIGNPOST_METRICS_H

#include <stdint.h>

#define METRICS_SENTINEL __attribute__((sentinel))
#define METRICS_END ((const char *)NULL)

struct metrics_counter;
struct metrics_gauge;
struct metrics_histogram;

/* Counters: monotonically increasing integers. */
struct metrics_counter *metrics_counter_register(const char *name,
                                                 const char *help,
                                                 ...) METRICS_SENTINEL;
void metrics_counter_inc(struct metrics_counter *c);
void metrics_counter_add(struct metrics_counter *c, uint64_t n);
uint64_t metrics_counter_value(const struct metrics_counter *c);

/* Gauges: a value set by the program... */
struct metrics_gauge *metrics_gauge_register(const char *name, const char *help,
                                             ...) METRICS_SENTINEL;
void metrics_gauge_set(struct metrics_gauge *g, double v);
void metrics_gauge_add(struct metrics_gauge *g, double delta);
double metrics_gauge_value(const struct metrics_gauge *g);

/* ...or read at scrape time: fn(arg) runs inside metrics_render() with
 * the registry locked, so it must not register metrics; it should be
 * quick (a cached value, or one cheap query). arg must outlive the
 * registration. Registering the same series again replaces fn and arg. */
typedef double (*metrics_gauge_fn)(void *arg);
void metrics_gauge_callback(const char *name, const char *help,
                            metrics_gauge_fn fn, void *arg,
                            ...) METRICS_SENTINEL;

/* Histograms of latencies in seconds, fixed buckets:
 * .001 .0025 .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10 (+Inf). */
#define METRICS_NBUCKETS 13
struct metrics_histogram *metrics_histogram_register(const char *name,
                                                     const char *help,
                                                     ...) METRICS_SENTINEL;
void metrics_histogram_observe(struct metrics_histogram *h, double seconds);
uint64_t metrics_histogram_count(const struct metrics_histogram *h);

/* metrics_render: returns new text in the Prometheus exposition format
 * (version 0.0.4), free with free(); NULL when out of memory. */
char *metrics_render(void);

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
