#include <keel/cmdline.h>
#include <keel/log.h>
#include <keel/string.h>

/* Copies the next space-separated word of *s into @word; false at the end. */
static bool next_word(const char **s, char *word, size_t size)
{
    const char *p = *s, *start;

    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    if (!*p)
        return false;
    start = p;
    while (*p && *p != ' ' && *p != '\t' && *p != '\n')
        p++;
    str_copy(word, start, MIN(size, (size_t)(p - start) + 1));
    *s = p;
    return true;
}

void cmdline_parse(const char *cmdline, struct keel_options *opts)
{
    char word[64];
    enum log_level level;

    opts->console_tag = -1;
    if (!cmdline)
        return;
    while (next_word(&cmdline, word, sizeof(word))) {
        if (!strncmp(word, "loglevel=", 9)) {
            if (log_parse_level(word + 9, &level))
                log_current_level = level;
            else
                WARN("unknown log level '%s' (error, warn, info, debug, trace)", word + 9);
        } else if (!strncmp(word, "keel.test=", 10)) {
            str_copy(opts->test, word + 10, sizeof(opts->test));
        } else if (!strcmp(word, "keel.stay-up")) {
            opts->stay_up = true;
        } else if (!strncmp(word, "keel.console-tag=", 17)) {
            opts->console_tag = !strcmp(word + 17, "on");
            if (!opts->console_tag && strcmp(word + 17, "off"))
                WARN("keel.console-tag=%s: expected on or off; tags off", word + 17);
        }
        /* other words belong to someone else (e.g. QEMU adds its own) */
    }
}
