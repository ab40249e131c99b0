/*
 * xv6's own usertests (user/usertests.c, compiled here unchanged) run by
 * name, several in one process, without the free-page count usertests
 * makes before and after (countfree: it sbrk()s every free page one at a
 * time and writes a byte to a pipe for each, about 85 million emulated
 * CSR accesses under Keel in M-mode, minutes per run). The leak check that
 * count gives stays with the whole `usertests -q` in `make mmode-long`.
 *
 *   keeltests NAME...     each test as usertests runs it (forked, "test NAME: OK"),
 *                         then "keeltests: ALL PASSED" or "keeltests: FAILED"
 */
#define main xv6_usertests_main
#include "usertests.c"
#undef main

static struct test *find_test(const char *name)
{
  for (struct test *t = quicktests; t->s != 0; t++)
    if (strcmp(t->s, name) == 0)
      return t;
  for (struct test *t = slowtests; t->s != 0; t++)
    if (strcmp(t->s, name) == 0)
      return t;
  return 0;
}

int
main(int argc, char *argv[])
{
  for (int i = 1; i < argc; i++) {
    struct test *t = find_test(argv[i]);

    /* an unknown name would pass silently through runtests() */
    if (t == 0) {
      printf("keeltests: no test %s\n", argv[i]);
      exit(1);
    }
    if (!run(t->f, t->s)) {
      printf("keeltests: FAILED\n");
      exit(1);
    }
  }
  printf("keeltests: ALL PASSED\n");
  exit(0);
}
