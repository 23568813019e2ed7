/* faultline.h: the C ABI of faultline's fault engine, for C programs and for
 * bindings (Python ctypes/cffi, Node ffi-napi/N-API, Java JNA/Panama).
 *
 * It wraps faultline::Engine (engine.h) and the rule readers (rules.h):
 *
 *   faultline_engine_new(&opts) --> faultline_engine*
 *   faultline_engine_load_rules(e, yaml_or_json)     (atomic swap of rules)
 *   faultline_engine_decide(e, "redis.get", tags, plan) --> plan
 *   faultline_plan_action(plan), _delay_ns, _error_type, ...
 *   faultline_engine_counters(e) --> faultline_counters* (a snapshot)
 *
 * Decide only decides; the caller carries the plan out (sleeps the delay,
 * raises the error) in its own language.
 *
 * Conventions that hold for every function below:
 *
 * - Pure C11; no C++ type crosses this boundary, and no C++ exception does
 *   either: an unexpected exception inside the library is caught and returned
 *   as FAULTLINE_EINTERNAL (FAULTLINE_ENOMEM for std::bad_alloc).
 * - Operations return an int status: FAULTLINE_OK (0) or one of the
 *   FAULTLINE_E* codes below. A NULL handle or a NULL required pointer is
 *   FAULTLINE_EINVAL, never a crash.
 * - Errors are reported through a caller-owned buffer, not through hidden
 *   global or thread-local state, so that a binding whose threads move
 *   between OS threads (goroutines, async runtimes) cannot read another
 *   call's error. Each operation takes `char* err, size_t errlen`:
 *     on error, the message is written into err, truncated to errlen - 1
 *     bytes (never inside a UTF-8 sequence) and always NUL-terminated;
 *     on success, err is set to "" ;
 *     err may be NULL (or errlen 0), and then nothing is written.
 *   Most messages fit in 256 bytes; one about an unknown key lists the
 *   known keys and can be longer, so 1024 is a comfortable size.
 * - Accessors (functions that return a value rather than a status) never
 *   fail: on a NULL handle or an index out of range they return 0,
 *   FAULTLINE_ACTION_NONE or "" (never NULL), as each one documents.
 * - Strings passed in are NUL-terminated UTF-8 and are copied or only read
 *   during the call; the library keeps no pointer to them. Strings handed
 *   out are owned by the library; each accessor says how long they live.
 *
 * Thread-safety: a faultline_engine may be used from any number of threads at
 * once (every faultline_engine_* function is thread-safe), except that
 * faultline_engine_free must not race with any other call on that engine. A
 * faultline_plan is not thread-safe: give each thread its own (deciding into
 * one plan from two threads at once is undefined). A faultline_counters
 * snapshot is immutable and may be read from any thread.
 */
#ifndef FAULTLINE_FAULTLINE_H_
#define FAULTLINE_FAULTLINE_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- version ----------------------------------------------------------- */

/* The version of this header. faultline_version() gives the library's; a
 * binding may compare the two (the ABI is stable within one minor version
 * while the major version is 0). */
#define FAULTLINE_VERSION_MAJOR 0
#define FAULTLINE_VERSION_MINOR 1
#define FAULTLINE_VERSION_PATCH 0
#define FAULTLINE_VERSION_STRING "0.1.0"

/* The library's version, "MAJOR.MINOR.PATCH". Static storage; never NULL.
 * Thread-safe. */
const char* faultline_version(void);

/* ---- status codes ------------------------------------------------------ */

enum {
  FAULTLINE_OK = 0,
  FAULTLINE_EINVAL = 1,   /* bad argument: NULL pointer, malformed rules, bad value */
  FAULTLINE_ENOENT = 2,   /* not found: a rule file that does not exist */
  FAULTLINE_EIO = 3,      /* the operating system said no (reading a file) */
  FAULTLINE_ERANGE = 4,   /* an index or count out of range */
  FAULTLINE_ENOMEM = 5,   /* out of memory */
  FAULTLINE_EUNAVAIL = 6, /* a peer or source is unavailable */
  FAULTLINE_EINTERNAL = 7 /* a bug in faultline (an unexpected exception) */
};

/* A short constant description of a status code ("ok", "invalid argument",
 * ...; "unknown status" for any other value). Static storage; never NULL.
 * Thread-safe. */
const char* faultline_strerror(int status);

/* ---- actions and formats ----------------------------------------------- */

/* What a plan says to do. The values equal faultline::Action's (rules.h). */
typedef enum faultline_action {
  FAULTLINE_ACTION_NONE = 0,      /* nothing to do */
  FAULTLINE_ACTION_LATENCY = 1,   /* wait faultline_plan_delay_ns, then go on */
  FAULTLINE_ACTION_ERROR = 2,     /* fail with error type and message */
  FAULTLINE_ACTION_STATUS = 3,    /* answer with status code, headers and body */
  FAULTLINE_ACTION_BODY = 4,      /* replace the response body */
  FAULTLINE_ACTION_TIMEOUT = 5,   /* hold until the caller's deadline passes */
  FAULTLINE_ACTION_DROP = 6,      /* drop the connection or message silently */
  FAULTLINE_ACTION_RESET = 7,     /* reset the connection */
  FAULTLINE_ACTION_THROTTLE = 8,  /* refuse as the platform does when throttling */
  FAULTLINE_ACTION_DISKSPACE = 9, /* fill temporary disk space */
  FAULTLINE_ACTION_DENYLIST = 10  /* refuse connections to matching hosts */
} faultline_action;

/* "none", "latency", "error", ... as rule files spell them; "" for a value
 * that is not a faultline_action. Static storage. Thread-safe. */
const char* faultline_action_name(faultline_action action);

/* The syntax of a rule text. The values equal faultline::Format's. */
typedef enum faultline_format {
  FAULTLINE_FORMAT_AUTO = 0, /* JSON if the first non-blank char is '{' or '[', else YAML */
  FAULTLINE_FORMAT_YAML = 1,
  FAULTLINE_FORMAT_JSON = 2
} faultline_format;

/* ---- engine ------------------------------------------------------------ */

/* An engine: the active rules, their counters and the seeded randomness.
 * Opaque; created by faultline_engine_new, destroyed by faultline_engine_free. */
typedef struct faultline_engine faultline_engine;

/* Receives one injection-log line (JSON, no trailing newline; `line` is
 * NUL-terminated and `len` is its length) per injection. Called on the thread
 * that called faultline_engine_decide, possibly from several threads at once;
 * `line` is valid only during the call. Must not call back into the engine
 * that logs, and must not unwind (longjmp, C++ exception) through the library. */
typedef void (*faultline_log_fn)(void* user, const char* line, size_t len);

/* Options of faultline_engine_new. A zero-initialised struct (or a NULL
 * pointer) gives the defaults. */
typedef struct faultline_engine_options {
  /* Seed of every random decision: the same seed and the same calls give
   * the same decisions. 0 (default): a random seed, which
   * faultline_engine_seed reports so the run can be replayed. */
  uint64_t seed;
  /* Nonzero: decide, count and log as usual (log lines carry
   * "dry_run":true), but every plan comes back empty. Default 0. */
  int dry_run;
  /* Injection log; NULL (default): no log. `log_user` is passed back as is. */
  faultline_log_fn log_fn;
  void* log_user;
} faultline_engine_options;

/* Creates an engine with no rules, using the system clock. `options` may be
 * NULL for the defaults; it is read only during the call.
 * Returns the engine, owned by the caller (free with faultline_engine_free),
 * or NULL with the reason in err. The kill switch starts on, unless the
 * environment variable FAULTLINE_DISABLE=1 is set.
 * Thread-safe. */
faultline_engine* faultline_engine_new(const faultline_engine_options* options, char* err,
                                       size_t errlen);

/* Destroys the engine. NULL is a no-op. REQUIRES: no other call on this
 * engine is running or will start; plans and counter snapshots taken from it
 * stay valid (they hold copies). */
void faultline_engine_free(faultline_engine* engine);

/* Parses `text` (`len` bytes; it need not be NUL-terminated; NULL only when
 * len is 0) as a rule document in `format` (see docs/rules.md) and replaces
 * the engine's rules with it in one atomic step. `source` names the text in
 * error messages ("faults.yaml", "FAULTLINE_RULES"); NULL means "<rules>".
 * Returns FAULTLINE_OK, or FAULTLINE_EINVAL with a message naming the
 * source, line:column and field (e.g. "faults.yaml:3:14: faults[0].action:
 * ..."); on error the active rules stay as they were. Counters and every /
 * skip / limit progress carry over for rules whose definition is unchanged.
 * Thread-safe: concurrent deciders see the old or the new rules, never a mix. */
int faultline_engine_load_rules(faultline_engine* engine, const char* text, size_t len,
                                const char* source, faultline_format format, char* err,
                                size_t errlen);

/* As faultline_engine_load_rules, with the rules read from the file at
 * `path`; the format comes from its extension (.json, .yaml, .yml), else
 * auto. Returns FAULTLINE_ENOENT when the file does not exist, FAULTLINE_EIO
 * when it cannot be read, FAULTLINE_EINVAL when it does not parse, says
 * nothing (an empty file: write "faults: []" for no rules) or is over 16 MiB.
 * A ttl counts from the file's modification time (docs/rules.md, Expiry).
 * Thread-safe. */
int faultline_engine_load_rule_file(faultline_engine* engine, const char* path, char* err,
                                    size_t errlen);

/* Removes every rule (and their counters). Thread-safe. */
int faultline_engine_clear(faultline_engine* engine, char* err, size_t errlen);

/* The kill switch: while disabled (enabled == 0), every decision is an empty
 * plan whatever the rules say; rules and counters are kept. Thread-safe. */
int faultline_engine_set_enabled(faultline_engine* engine, int enabled, char* err, size_t errlen);

/* 1 while the kill switch is on (faults may be injected), 0 while off, and 0
 * for NULL. Thread-safe. */
int faultline_engine_enabled(const faultline_engine* engine);

/* The seed of the engine's random decisions (the one chosen for it when the
 * options said 0); 0 for NULL. Thread-safe. */
uint64_t faultline_engine_seed(const faultline_engine* engine);

/* ---- plans and decisions ----------------------------------------------- */

/* The result of one decision. Opaque and caller-owned: create one with
 * faultline_plan_new, reuse it for any number of decisions, free it with
 * faultline_plan_free. A new plan is empty. Not thread-safe: one plan per
 * thread (or guard it). */
typedef struct faultline_plan faultline_plan;

/* A new, empty plan, or NULL when out of memory. Thread-safe. */
faultline_plan* faultline_plan_new(void);

/* Destroys the plan; strings it handed out become invalid. NULL is a no-op. */
void faultline_plan_free(faultline_plan* plan);

/* Decides what to do for one call at injection point `point` (e.g.
 * "redis.get") with `tag_count` tags given as parallel arrays: tag
 * `tag_keys[i]` has value `tag_values[i]` (both NULL only when tag_count is
 * 0). Overwrites `plan` with the decision; strings that earlier accessors
 * returned for this plan become invalid. The engine only decides: the caller
 * carries the plan out (waits the delay, then acts).
 * Returns FAULTLINE_OK (also when the plan is empty), or FAULTLINE_EINVAL for a
 * NULL engine, point or plan, or a NULL array or string among the tags; on
 * error the plan is left empty.
 * Thread-safe in the engine; `plan` must not be used by another thread
 * during the call. Cost: a few nanoseconds when no rule is loaded or the kill
 * switch is off (see docs/performance.md). */
int faultline_engine_decide(faultline_engine* engine, const char* point,
                            const char* const* tag_keys, const char* const* tag_values,
                            size_t tag_count, faultline_plan* plan, char* err, size_t errlen);

/* Empties the plan, as after faultline_plan_new. NULL is a no-op. */
void faultline_plan_reset(faultline_plan* plan);

/* Accessors. Each returns the documented "nothing" for a NULL plan or an
 * empty plan. Strings are owned by the plan and stay valid until the next
 * faultline_engine_decide or faultline_plan_reset into this plan, or its
 * faultline_plan_free; they are never NULL. */

/* 1 when there is nothing to do (no action, no delay), else 0; 1 for NULL. */
int faultline_plan_empty(const faultline_plan* plan);

/* The action to carry out after the delay: FAULTLINE_ACTION_NONE when empty;
 * FAULTLINE_ACTION_LATENCY when the plan is only a delay. */
faultline_action faultline_plan_action(const faultline_plan* plan);

/* How long to wait before the action, in nanoseconds (the sum of every
 * latency rule that fired); 0 when none. */
int64_t faultline_plan_delay_ns(const faultline_plan* plan);

/* The name of the rule that chose the action (or of the first latency rule
 * when the plan is only a delay); "" when empty. */
const char* faultline_plan_rule(const faultline_plan* plan);

/* FAULTLINE_ACTION_ERROR: the error type (e.g. "Function.InjectedFault") and
 * message; "" for every other action. */
const char* faultline_plan_error_type(const faultline_plan* plan);
const char* faultline_plan_error_message(const faultline_plan* plan);

/* FAULTLINE_ACTION_STATUS: the status code to answer with; 0 for every other
 * action. */
int faultline_plan_status_code(const faultline_plan* plan);

/* FAULTLINE_ACTION_STATUS and FAULTLINE_ACTION_BODY: the response body and
 * its length in bytes (the body may contain NUL bytes; it is also
 * NUL-terminated); "" and 0 for every other action. */
const char* faultline_plan_body(const faultline_plan* plan);
size_t faultline_plan_body_len(const faultline_plan* plan);

/* FAULTLINE_ACTION_STATUS: the content type ("" for the layer's default) and
 * the headers, as a count and index-based access in name order. */
const char* faultline_plan_content_type(const faultline_plan* plan);
size_t faultline_plan_header_count(const faultline_plan* plan);
/* Header `index` (< faultline_plan_header_count): its name, its value; "" out
 * of range. */
const char* faultline_plan_header_name(const faultline_plan* plan, size_t index);
const char* faultline_plan_header_value(const faultline_plan* plan, size_t index);

/* FAULTLINE_ACTION_TIMEOUT: stop this many milliseconds before the deadline;
 * 0 otherwise. */
double faultline_plan_timeout_buffer_ms(const faultline_plan* plan);

/* FAULTLINE_ACTION_DISKSPACE: how many MiB to fill; 0 otherwise. */
uint64_t faultline_plan_diskspace_mb(const faultline_plan* plan);

/* FAULTLINE_ACTION_DENYLIST: the host regexes, as a count and index-based
 * access; "" out of range. */
size_t faultline_plan_denylist_count(const faultline_plan* plan);
const char* faultline_plan_denylist_at(const faultline_plan* plan, size_t index);

/* ---- counters ---------------------------------------------------------- */

/* A snapshot of the counters of the engine's active rules, in rule order,
 * taken at one moment. Opaque and immutable: read it from any thread; free
 * it with faultline_counters_free. */
typedef struct faultline_counters faultline_counters;

/* Takes a snapshot of the counters. Returns it, owned by the caller, or NULL
 * with the reason in err (NULL engine, out of memory). Thread-safe. */
faultline_counters* faultline_engine_counters(const faultline_engine* engine, char* err,
                                              size_t errlen);

/* Destroys the snapshot; strings it handed out become invalid. NULL is a
 * no-op. */
void faultline_counters_free(faultline_counters* counters);

/* The number of rules in the snapshot; 0 for NULL. */
size_t faultline_counters_count(const faultline_counters* counters);

/* Rule `index` (< faultline_counters_count): its name ("" out of range;
 * valid until faultline_counters_free), how many calls matched it (target
 * and tags, rule enabled), how many it injected into, and how many it let
 * through although they matched (probability, every, skip, limit, expiry,
 * dry run); 0 out of range. */
const char* faultline_counters_name(const faultline_counters* counters, size_t index);
uint64_t faultline_counters_matched(const faultline_counters* counters, size_t index);
uint64_t faultline_counters_injected(const faultline_counters* counters, size_t index);
uint64_t faultline_counters_skipped(const faultline_counters* counters, size_t index);

/* The index of the rule named `name`, or (size_t)-1 when there is none (or
 * either argument is NULL). */
size_t faultline_counters_find(const faultline_counters* counters, const char* name);

/* The whole snapshot as one JSON document, for bindings that prefer to parse:
 *   {"rules":[{"name":"slow-cache","matched":3,"injected":1,"skipped":2},...]}
 * Valid until faultline_counters_free; "" for NULL. */
const char* faultline_counters_json(const faultline_counters* counters);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FAULTLINE_FAULTLINE_H_ */
