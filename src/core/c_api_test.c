/* Tests of the C ABI (include/faultline/faultline.h), written in C11 as its
 * users will write it. Every check prints what failed and the run goes on;
 * the exit status is 1 when any check failed. Decisions are deterministic:
 * a fixed seed and probabilities of 1 and 0 (or, for the replay check, the
 * same seed twice). */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faultline/faultline.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    ++checks;                                                                  \
    if (!(cond)) {                                                             \
      ++failures;                                                              \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                          \
  } while (0)

#define CHECK_INT(a, b)                                                                         \
  do {                                                                                          \
    long long va_ = (long long)(a), vb_ = (long long)(b);                                       \
    ++checks;                                                                                   \
    if (va_ != vb_) {                                                                           \
      ++failures;                                                                               \
      fprintf(stderr, "%s:%d: CHECK failed: %s == %s (%lld vs %lld)\n", __FILE__, __LINE__, #a, \
              #b, va_, vb_);                                                                    \
    }                                                                                           \
  } while (0)

#define CHECK_STR(a, b)                                                                           \
  do {                                                                                            \
    const char* sa_ = (a);                                                                        \
    const char* sb_ = (b);                                                                        \
    ++checks;                                                                                     \
    if (sa_ == NULL || strcmp(sa_, sb_) != 0) {                                                   \
      ++failures;                                                                                 \
      fprintf(stderr, "%s:%d: CHECK failed: %s == \"%s\" (got %s%s%s)\n", __FILE__, __LINE__, #a, \
              sb_, sa_ ? "\"" : "", sa_ ? sa_ : "NULL", sa_ ? "\"" : "");                         \
    }                                                                                             \
  } while (0)

/* A status code check that also shows the error message. */
#define CHECK_STATUS(call, want, errbuf)                                                        \
  do {                                                                                          \
    int got_ = (call);                                                                          \
    ++checks;                                                                                   \
    if (got_ != (want)) {                                                                       \
      ++failures;                                                                               \
      fprintf(stderr, "%s:%d: CHECK failed: %s returned %d (%s), want %d; err: %s\n", __FILE__, \
              __LINE__, #call, got_, faultline_strerror(got_), (int)(want), errbuf);            \
    }                                                                                           \
  } while (0)

static const char kRules[] =
    "faults:\n"
    "  - name: slow-cache\n"
    "    target: \"redis.*\"\n"
    "    action: latency\n"
    "    latency: {ms: 100}\n"
    "    probability: 1\n"
    "  - name: never\n"
    "    target: redis.get\n"
    "    action: error\n"
    "    probability: 0\n"
    "  - name: db-down\n"
    "    target: db.query\n"
    "    tags: {db: users}\n"
    "    action: error\n"
    "    error: {type: Function.DbDown, message: connection refused}\n"
    "    probability: 1\n"
    "  - name: upstream-503\n"
    "    target: \"http:upstream\"\n"
    "    action: status\n"
    "    status:\n"
    "      code: 503\n"
    "      headers: {Retry-After: \"1\"}\n"
    "      content_type: text/plain\n"
    "      body: busy\n";

/* The same rules in JSON, for the file and format checks. */
static const char kRulesJson[] =
    "{\"faults\": [\n"
    "  {\"name\": \"slow-cache\", \"target\": \"redis.*\", \"action\": \"latency\",\n"
    "   \"latency\": {\"ms\": 100}, \"probability\": 1}\n"
    "]}\n";

/* A rule whose action does not exist, on line 4. */
static const char kBadRules[] =
    "faults:\n"
    "  - name: broken\n"
    "    target: redis.get\n"
    "    action: explode\n";

static int log_lines = 0;
static char last_log[512];

static void CountLog(void* user, const char* line, size_t len) {
  int* counter = (int*)user;
  ++*counter;
  ++log_lines;
  if (len >= sizeof last_log) len = sizeof last_log - 1;
  memcpy(last_log, line, len);
  last_log[len] = '\0';
}

/* Whether `msg` contains "<source>:<line>:<col>" with positive numbers. */
static int HasLineCol(const char* msg, const char* source, int want_line) {
  const char* at = strstr(msg, source);
  int line = 0, col = 0;
  if (at == NULL) return 0;
  if (sscanf(at + strlen(source), ":%d:%d", &line, &col) != 2) return 0;
  return line > 0 && col > 0 && (want_line == 0 || line == want_line);
}

static int Decide(faultline_engine* e, const char* point, const char* key, const char* value,
                  faultline_plan* plan) {
  char err[256];
  const char* keys[1] = {key};
  const char* values[1] = {value};
  int rc = faultline_engine_decide(e, point, key ? keys : NULL, key ? values : NULL, key ? 1 : 0,
                                   plan, err, sizeof err);
  if (rc != FAULTLINE_OK) fprintf(stderr, "decide(%s) failed: %s\n", point, err);
  return rc;
}

static void TestVersionAndNames(void) {
  CHECK_STR(faultline_version(), FAULTLINE_VERSION_STRING);
  CHECK_STR(faultline_strerror(FAULTLINE_OK), "ok");
  CHECK_STR(faultline_strerror(FAULTLINE_EINVAL), "invalid argument");
  CHECK_STR(faultline_strerror(12345), "unknown status");
  CHECK_STR(faultline_action_name(FAULTLINE_ACTION_NONE), "none");
  CHECK_STR(faultline_action_name(FAULTLINE_ACTION_LATENCY), "latency");
  CHECK_STR(faultline_action_name(FAULTLINE_ACTION_ERROR), "error");
  CHECK_STR(faultline_action_name(FAULTLINE_ACTION_DENYLIST), "denylist");
  CHECK_STR(faultline_action_name((faultline_action)99), "");
}

static void TestDecide(void) {
  char err[256] = "untouched";
  int my_lines = 0;
  faultline_engine_options opts;
  memset(&opts, 0, sizeof opts);
  opts.seed = 42;
  opts.log_fn = CountLog;
  opts.log_user = &my_lines;
  faultline_engine* e = faultline_engine_new(&opts, err, sizeof err);
  CHECK(e != NULL);
  if (e == NULL) {
    fprintf(stderr, "faultline_engine_new: %s\n", err);
    return;
  }
  CHECK_STR(err, "");
  CHECK(faultline_engine_seed(e) == 42u);
  CHECK_INT(faultline_engine_enabled(e), 1);

  faultline_plan* plan = faultline_plan_new();
  CHECK(plan != NULL);
  CHECK_INT(faultline_plan_empty(plan), 1);

  /* No rules yet: nothing happens. */
  CHECK_INT(Decide(e, "redis.get", NULL, NULL, plan), FAULTLINE_OK);
  CHECK_INT(faultline_plan_empty(plan), 1);

  CHECK_STATUS(faultline_engine_load_rules(e, kRules, strlen(kRules), "rules.yaml",
                                           FAULTLINE_FORMAT_AUTO, err, sizeof err),
               FAULTLINE_OK, err);
  CHECK_STR(err, "");

  /* Latency rule fires; the error rule with probability 0 matches but not. */
  CHECK_INT(Decide(e, "redis.get", NULL, NULL, plan), FAULTLINE_OK);
  CHECK_INT(faultline_plan_empty(plan), 0);
  CHECK_INT(faultline_plan_action(plan), FAULTLINE_ACTION_LATENCY);
  CHECK_INT(faultline_plan_delay_ns(plan), 100000000LL);
  CHECK_STR(faultline_plan_rule(plan), "slow-cache");
  CHECK_STR(faultline_plan_error_type(plan), "");
  CHECK_INT(faultline_plan_status_code(plan), 0);

  /* Error rule with a tag: fires only with the tag. */
  CHECK_INT(Decide(e, "db.query", "db", "users", plan), FAULTLINE_OK);
  CHECK_INT(faultline_plan_action(plan), FAULTLINE_ACTION_ERROR);
  CHECK_INT(faultline_plan_delay_ns(plan), 0);
  CHECK_STR(faultline_plan_rule(plan), "db-down");
  CHECK_STR(faultline_plan_error_type(plan), "Function.DbDown");
  CHECK_STR(faultline_plan_error_message(plan), "connection refused");
  CHECK_STR(faultline_plan_body(plan), "");
  CHECK_INT(faultline_plan_body_len(plan), 0);

  /* Status rule: code, headers, content type, body. */
  CHECK_INT(Decide(e, "http:upstream", NULL, NULL, plan), FAULTLINE_OK);
  CHECK_INT(faultline_plan_action(plan), FAULTLINE_ACTION_STATUS);
  CHECK_STR(faultline_plan_rule(plan), "upstream-503");
  CHECK_INT(faultline_plan_status_code(plan), 503);
  CHECK_STR(faultline_plan_body(plan), "busy");
  CHECK_INT(faultline_plan_body_len(plan), 4);
  CHECK_STR(faultline_plan_content_type(plan), "text/plain");
  CHECK_INT(faultline_plan_header_count(plan), 1);
  CHECK_STR(faultline_plan_header_name(plan, 0), "Retry-After");
  CHECK_STR(faultline_plan_header_value(plan, 0), "1");
  CHECK_STR(faultline_plan_header_name(plan, 1), "");
  CHECK_STR(faultline_plan_error_type(plan), "");

  CHECK_INT(Decide(e, "db.query", NULL, NULL, plan), FAULTLINE_OK);
  CHECK_INT(faultline_plan_empty(plan), 1);
  CHECK_INT(faultline_plan_action(plan), FAULTLINE_ACTION_NONE);
  CHECK_STR(faultline_plan_rule(plan), "");
  CHECK_STR(faultline_plan_error_type(plan), "");
  CHECK_INT(Decide(e, "db.query", "db", "orders", plan), FAULTLINE_OK);
  CHECK_INT(faultline_plan_empty(plan), 1);
  CHECK_INT(Decide(e, "s3.put_object", NULL, NULL, plan), FAULTLINE_OK);
  CHECK_INT(faultline_plan_empty(plan), 1);

  /* More tags than the inline array holds; the matching one last. */
  {
    const char* keys[20];
    const char* values[20];
    char names[20][8];
    int i;
    for (i = 0; i < 19; ++i) {
      snprintf(names[i], sizeof names[i], "k%d", i);
      keys[i] = names[i];
      values[i] = "v";
    }
    keys[19] = "db";
    values[19] = "users";
    CHECK_STATUS(faultline_engine_decide(e, "db.query", keys, values, 20, plan, err, sizeof err),
                 FAULTLINE_OK, err);
    CHECK_INT(faultline_plan_action(plan), FAULTLINE_ACTION_ERROR);
  }

  /* Counters: redis.get 1x, http:upstream 1x, db.query 4x (2 with the tag). */
  {
    faultline_counters* c = faultline_engine_counters(e, err, sizeof err);
    size_t i;
    CHECK(c != NULL);
    CHECK_INT(faultline_counters_count(c), 4);
    i = faultline_counters_find(c, "slow-cache");
    CHECK_INT(i, 0);
    CHECK_STR(faultline_counters_name(c, i), "slow-cache");
    CHECK_INT(faultline_counters_matched(c, i), 1);
    CHECK_INT(faultline_counters_injected(c, i), 1);
    CHECK_INT(faultline_counters_skipped(c, i), 0);
    i = faultline_counters_find(c, "never");
    CHECK_INT(i, 1);
    CHECK_INT(faultline_counters_matched(c, i), 1);
    CHECK_INT(faultline_counters_injected(c, i), 0);
    CHECK_INT(faultline_counters_skipped(c, i), 1);
    i = faultline_counters_find(c, "db-down");
    CHECK_INT(i, 2);
    CHECK_INT(faultline_counters_matched(c, i), 2);
    CHECK_INT(faultline_counters_injected(c, i), 2);
    CHECK_INT(faultline_counters_skipped(c, i), 0);
    CHECK(faultline_counters_find(c, "nope") == (size_t)-1);
    CHECK_STR(faultline_counters_name(c, 4), "");
    CHECK_INT(faultline_counters_matched(c, 4), 0);
    CHECK(strstr(faultline_counters_json(c),
                 "{\"name\":\"db-down\",\"matched\":2,\"injected\":2,\"skipped\":0}") != NULL);
    if (strstr(faultline_counters_json(c), "db-down\",\"matched\":2") == NULL) {
      fprintf(stderr, "  json was: %s\n", faultline_counters_json(c));
    }
    faultline_counters_free(c);
  }

  /* The injection log saw the four injections. */
  CHECK_INT(my_lines, 4);
  CHECK(strstr(last_log, "db-down") != NULL);

  /* Kill switch: everything stops, and comes back. */
  CHECK_STATUS(faultline_engine_set_enabled(e, 0, err, sizeof err), FAULTLINE_OK, err);
  CHECK_INT(faultline_engine_enabled(e), 0);
  CHECK_INT(Decide(e, "redis.get", NULL, NULL, plan), FAULTLINE_OK);
  CHECK_INT(faultline_plan_empty(plan), 1);
  CHECK_INT(Decide(e, "db.query", "db", "users", plan), FAULTLINE_OK);
  CHECK_INT(faultline_plan_empty(plan), 1);
  CHECK_STATUS(faultline_engine_set_enabled(e, 1, err, sizeof err), FAULTLINE_OK, err);
  CHECK_INT(faultline_engine_enabled(e), 1);
  CHECK_INT(Decide(e, "redis.get", NULL, NULL, plan), FAULTLINE_OK);
  CHECK_INT(faultline_plan_action(plan), FAULTLINE_ACTION_LATENCY);

  /* A bad rule text: the error names the source and line:column, and the
   * active rules stay. */
  strcpy(err, "untouched");
  CHECK_STATUS(faultline_engine_load_rules(e, kBadRules, strlen(kBadRules), "bad.yaml",
                                           FAULTLINE_FORMAT_YAML, err, sizeof err),
               FAULTLINE_EINVAL, err);
  CHECK(HasLineCol(err, "bad.yaml", 4));
  CHECK(strstr(err, "explode") != NULL);
  if (!HasLineCol(err, "bad.yaml", 4)) fprintf(stderr, "  message was: %s\n", err);
  CHECK_INT(Decide(e, "redis.get", NULL, NULL, plan), FAULTLINE_OK);
  CHECK_INT(faultline_plan_action(plan), FAULTLINE_ACTION_LATENCY);

  /* A malformed JSON text (a missing value on line 2). */
  {
    static const char kBadJson[] = "{\"faults\": [\n  {\"name\": }\n]}\n";
    CHECK_STATUS(faultline_engine_load_rules(e, kBadJson, strlen(kBadJson), "bad.json",
                                             FAULTLINE_FORMAT_JSON, err, sizeof err),
                 FAULTLINE_EINVAL, err);
    CHECK(HasLineCol(err, "bad.json", 2));
    if (!HasLineCol(err, "bad.json", 2)) fprintf(stderr, "  message was: %s\n", err);
  }

  /* A short buffer: the message is cut and still NUL-terminated. */
  {
    char small[8];
    memset(small, 'x', sizeof small);
    CHECK_INT(faultline_engine_load_rules(e, kBadRules, strlen(kBadRules), "bad.yaml",
                                          FAULTLINE_FORMAT_AUTO, small, sizeof small),
              FAULTLINE_EINVAL);
    CHECK_INT(strlen(small), 7);
    CHECK_INT(memcmp(small, "bad.yam", 7), 0);
    /* errlen 0 and NULL err: nothing written, still an error. */
    CHECK_INT(faultline_engine_load_rules(e, kBadRules, strlen(kBadRules), "bad.yaml",
                                          FAULTLINE_FORMAT_AUTO, small, 0),
              FAULTLINE_EINVAL);
    CHECK_INT(faultline_engine_load_rules(e, kBadRules, strlen(kBadRules), "bad.yaml",
                                          FAULTLINE_FORMAT_AUTO, NULL, 100),
              FAULTLINE_EINVAL);
  }

  /* Clear removes every rule. */
  CHECK_STATUS(faultline_engine_clear(e, err, sizeof err), FAULTLINE_OK, err);
  CHECK_INT(Decide(e, "redis.get", NULL, NULL, plan), FAULTLINE_OK);
  CHECK_INT(faultline_plan_empty(plan), 1);
  {
    faultline_counters* c = faultline_engine_counters(e, err, sizeof err);
    CHECK(c != NULL);
    CHECK_INT(faultline_counters_count(c), 0);
    CHECK_STR(faultline_counters_json(c), "{\"rules\":[]}");
    faultline_counters_free(c);
  }

  faultline_plan_free(plan);
  faultline_engine_free(e);
}

static void TestRuleFile(void) {
  char err[256];
  char path[] = "/tmp/faultline_c_api_test_XXXXXX";
  faultline_engine_options opts;
  faultline_engine* e;
  faultline_plan* plan = faultline_plan_new();
  int fd = mkstemp(path);
  FILE* f;
  memset(&opts, 0, sizeof opts);
  opts.seed = 1;
  e = faultline_engine_new(&opts, err, sizeof err);
  CHECK(fd >= 0 && e != NULL && plan != NULL);
  if (fd < 0 || e == NULL || plan == NULL) {
    faultline_engine_free(e);
    faultline_plan_free(plan);
    return;
  }
  f = fdopen(fd, "w");
  fputs(kRulesJson, f);
  fclose(f);

  CHECK_STATUS(faultline_engine_load_rule_file(e, path, err, sizeof err), FAULTLINE_OK, err);
  CHECK_INT(Decide(e, "redis.set", NULL, NULL, plan), FAULTLINE_OK);
  CHECK_INT(faultline_plan_action(plan), FAULTLINE_ACTION_LATENCY);
  CHECK_STR(faultline_plan_rule(plan), "slow-cache");
  unlink(path);

  CHECK_STATUS(faultline_engine_load_rule_file(e, path, err, sizeof err), FAULTLINE_ENOENT, err);
  CHECK(strstr(err, path) != NULL);

  /* The JSON text through load_rules with an explicit format. */
  CHECK_STATUS(faultline_engine_load_rules(e, kRulesJson, strlen(kRulesJson), NULL,
                                           FAULTLINE_FORMAT_JSON, err, sizeof err),
               FAULTLINE_OK, err);

  faultline_plan_free(plan);
  faultline_engine_free(e);
}

static void TestDryRun(void) {
  char err[256];
  int lines = 0;
  faultline_engine_options opts;
  faultline_engine* e;
  faultline_plan* plan = faultline_plan_new();
  faultline_counters* c;
  memset(&opts, 0, sizeof opts);
  opts.seed = 3;
  opts.dry_run = 1;
  opts.log_fn = CountLog;
  opts.log_user = &lines;
  e = faultline_engine_new(&opts, err, sizeof err);
  CHECK(e != NULL && plan != NULL);
  if (e == NULL || plan == NULL) {
    faultline_engine_free(e);
    faultline_plan_free(plan);
    return;
  }
  CHECK_STATUS(faultline_engine_load_rules(e, kRules, strlen(kRules), "rules.yaml",
                                           FAULTLINE_FORMAT_YAML, err, sizeof err),
               FAULTLINE_OK, err);
  CHECK_INT(Decide(e, "redis.get", NULL, NULL, plan), FAULTLINE_OK);
  CHECK_INT(faultline_plan_empty(plan), 1);
  CHECK_INT(lines, 1);
  CHECK(strstr(last_log, "\"dry_run\":true") != NULL);
  c = faultline_engine_counters(e, err, sizeof err);
  /* Matched once; whether a dry-run firing counts as injected or skipped is
   * the engine's business (engine.h), so only the sum is checked here. */
  CHECK_INT(faultline_counters_matched(c, 0), 1);
  CHECK_INT(faultline_counters_injected(c, 0) + faultline_counters_skipped(c, 0), 1);
  faultline_counters_free(c);
  faultline_plan_free(plan);
  faultline_engine_free(e);
}

/* The same seed gives the same decisions. */
static void TestReplay(void) {
  static const char kHalf[] =
      "faults:\n"
      "  - name: coin\n"
      "    target: flip\n"
      "    action: error\n"
      "    probability: 0.5\n";
  char err[256];
  char seq[2][65];
  int run, i;
  for (run = 0; run < 2; ++run) {
    faultline_engine_options opts;
    faultline_engine* e;
    faultline_plan* plan = faultline_plan_new();
    memset(&opts, 0, sizeof opts);
    opts.seed = 7;
    e = faultline_engine_new(&opts, err, sizeof err);
    CHECK_STATUS(faultline_engine_load_rules(e, kHalf, strlen(kHalf), "half.yaml",
                                             FAULTLINE_FORMAT_AUTO, err, sizeof err),
                 FAULTLINE_OK, err);
    for (i = 0; i < 64; ++i) {
      Decide(e, "flip", NULL, NULL, plan);
      seq[run][i] = faultline_plan_empty(plan) ? '.' : 'X';
    }
    seq[run][64] = '\0';
    faultline_plan_free(plan);
    faultline_engine_free(e);
  }
  CHECK_STR(seq[1], seq[0]);
  /* 64 fair flips are all equal with probability 2^-63. */
  CHECK(strchr(seq[0], '.') != NULL && strchr(seq[0], 'X') != NULL);
}

/* Two threads share one engine, each with its own plan; the counters add
 * up. (Run under the tsan preset, this is also a data-race check; it uses
 * pthreads because ThreadSanitizer does not see glibc's C11 thrd_create.) */
enum { kThreadDecisions = 20000 };

typedef struct {
  faultline_engine* engine;
  int fired;
} DeciderArgs;

static void* Decider(void* p) {
  DeciderArgs* args = (DeciderArgs*)p;
  faultline_plan* plan = faultline_plan_new();
  int i;
  if (plan == NULL) return NULL;
  for (i = 0; i < kThreadDecisions; ++i) {
    if (faultline_engine_decide(args->engine, "redis.get", NULL, NULL, 0, plan, NULL, 0) ==
            FAULTLINE_OK &&
        faultline_plan_action(plan) == FAULTLINE_ACTION_LATENCY) {
      ++args->fired;
    }
  }
  faultline_plan_free(plan);
  return p;
}

static void TestThreads(void) {
  char err[256];
  faultline_engine_options opts;
  faultline_engine* e;
  faultline_counters* c;
  DeciderArgs args[2];
  pthread_t threads[2];
  int i;
  memset(&opts, 0, sizeof opts);
  opts.seed = 11;
  e = faultline_engine_new(&opts, err, sizeof err);
  CHECK(e != NULL);
  if (e == NULL) return;
  CHECK_STATUS(faultline_engine_load_rules(e, kRules, strlen(kRules), "rules.yaml",
                                           FAULTLINE_FORMAT_AUTO, err, sizeof err),
               FAULTLINE_OK, err);
  for (i = 0; i < 2; ++i) {
    args[i].engine = e;
    args[i].fired = 0;
    CHECK_INT(pthread_create(&threads[i], NULL, Decider, &args[i]), 0);
  }
  for (i = 0; i < 2; ++i) {
    void* rc = NULL;
    CHECK_INT(pthread_join(threads[i], &rc), 0);
    CHECK(rc == &args[i]);
    CHECK_INT(args[i].fired, kThreadDecisions);
  }
  c = faultline_engine_counters(e, err, sizeof err);
  CHECK_INT(faultline_counters_matched(c, 0), 2 * kThreadDecisions);
  CHECK_INT(faultline_counters_injected(c, 0), 2 * kThreadDecisions);
  faultline_counters_free(c);
  faultline_engine_free(e);
}

static void TestNullArguments(void) {
  char err[256];
  faultline_engine_options opts;
  faultline_engine* e;
  faultline_plan* plan = faultline_plan_new();
  const char* keys[1] = {"db"};
  const char* values[1] = {NULL};
  memset(&opts, 0, sizeof opts);
  e = faultline_engine_new(&opts, err, sizeof err);
  CHECK(e != NULL && plan != NULL);
  CHECK(faultline_engine_seed(e) != 0u); /* a random seed, reported */

  /* NULL options: the defaults. */
  {
    faultline_engine* d = faultline_engine_new(NULL, NULL, 0);
    CHECK(d != NULL);
    faultline_engine_free(d);
  }

  CHECK_INT(faultline_engine_load_rules(NULL, kRules, strlen(kRules), NULL, FAULTLINE_FORMAT_AUTO,
                                        err, sizeof err),
            FAULTLINE_EINVAL);
  CHECK(strstr(err, "engine is NULL") != NULL);
  CHECK_INT(faultline_engine_load_rules(e, NULL, 10, NULL, FAULTLINE_FORMAT_AUTO, err, sizeof err),
            FAULTLINE_EINVAL);
  CHECK(strstr(err, "text is NULL") != NULL);
  CHECK_INT(faultline_engine_load_rules(e, kRules, strlen(kRules), NULL, (faultline_format)9, err,
                                        sizeof err),
            FAULTLINE_EINVAL);
  CHECK_INT(faultline_engine_load_rule_file(NULL, "x.yaml", err, sizeof err), FAULTLINE_EINVAL);
  CHECK_INT(faultline_engine_load_rule_file(e, NULL, err, sizeof err), FAULTLINE_EINVAL);
  CHECK(strstr(err, "path is NULL") != NULL);
  CHECK_INT(faultline_engine_clear(NULL, err, sizeof err), FAULTLINE_EINVAL);
  CHECK_INT(faultline_engine_set_enabled(NULL, 1, err, sizeof err), FAULTLINE_EINVAL);
  CHECK_INT(faultline_engine_enabled(NULL), 0);
  CHECK(faultline_engine_seed(NULL) == 0u);

  CHECK_INT(faultline_engine_decide(NULL, "p", NULL, NULL, 0, plan, err, sizeof err),
            FAULTLINE_EINVAL);
  CHECK(strstr(err, "engine is NULL") != NULL);
  CHECK_INT(faultline_engine_decide(e, NULL, NULL, NULL, 0, plan, err, sizeof err),
            FAULTLINE_EINVAL);
  CHECK(strstr(err, "point is NULL") != NULL);
  CHECK_INT(faultline_engine_decide(e, "p", NULL, NULL, 0, NULL, err, sizeof err),
            FAULTLINE_EINVAL);
  CHECK(strstr(err, "plan is NULL") != NULL);
  CHECK_INT(faultline_engine_decide(e, "p", NULL, NULL, 1, plan, err, sizeof err),
            FAULTLINE_EINVAL);
  CHECK_INT(faultline_engine_decide(e, "p", keys, values, 1, plan, err, sizeof err),
            FAULTLINE_EINVAL);
  CHECK(strstr(err, "tag key or value is NULL") != NULL);
  CHECK_INT(faultline_plan_empty(plan), 1);

  CHECK(faultline_engine_counters(NULL, err, sizeof err) == NULL);
  CHECK(strstr(err, "engine is NULL") != NULL);

  /* Accessors on NULL: the documented nothing, never NULL strings. */
  CHECK_INT(faultline_plan_empty(NULL), 1);
  CHECK_INT(faultline_plan_action(NULL), FAULTLINE_ACTION_NONE);
  CHECK_INT(faultline_plan_delay_ns(NULL), 0);
  CHECK_STR(faultline_plan_rule(NULL), "");
  CHECK_STR(faultline_plan_error_type(NULL), "");
  CHECK_STR(faultline_plan_error_message(NULL), "");
  CHECK_INT(faultline_plan_status_code(NULL), 0);
  CHECK_STR(faultline_plan_body(NULL), "");
  CHECK_INT(faultline_plan_body_len(NULL), 0);
  CHECK_STR(faultline_plan_content_type(NULL), "");
  CHECK_INT(faultline_plan_header_count(NULL), 0);
  CHECK_STR(faultline_plan_header_name(NULL, 0), "");
  CHECK_STR(faultline_plan_header_value(NULL, 0), "");
  CHECK(faultline_plan_timeout_buffer_ms(NULL) == 0.0);
  CHECK(faultline_plan_diskspace_mb(NULL) == 0u);
  CHECK_INT(faultline_plan_denylist_count(NULL), 0);
  CHECK_STR(faultline_plan_denylist_at(NULL, 0), "");
  CHECK_INT(faultline_counters_count(NULL), 0);
  CHECK_STR(faultline_counters_name(NULL, 0), "");
  CHECK(faultline_counters_matched(NULL, 0) == 0u);
  CHECK(faultline_counters_injected(NULL, 0) == 0u);
  CHECK(faultline_counters_skipped(NULL, 0) == 0u);
  CHECK(faultline_counters_find(NULL, "x") == (size_t)-1);
  CHECK_STR(faultline_counters_json(NULL), "");
  faultline_plan_reset(NULL);
  faultline_plan_free(NULL);
  faultline_counters_free(NULL);
  faultline_engine_free(NULL);

  faultline_plan_free(plan);
  faultline_engine_free(e);
}

int main(void) {
  TestVersionAndNames();
  TestDecide();
  TestRuleFile();
  TestDryRun();
  TestReplay();
  TestThreads();
  TestNullArguments();
  printf("c_api_test: %d checks, %d failed\n", checks, failures);
  return failures == 0 ? 0 : 1;
}
