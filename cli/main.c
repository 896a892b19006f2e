/*
 * main.c — kavka-cli, one binary for Kafka's everyday command-line tools.
 * It runs the tool it is called as (a symlink named kafka-topics,
 * kafka-topics.sh, ...), or the tool named by its first argument:
 *
 *     kavka-cli kafka-topics --bootstrap-server HOST:PORT --list
 */
#include <stdio.h>
#include <string.h>

#include "tools.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
} TOOLS[] = {
    { "kafka-topics", tool_topics },
    { "kafka-broker-api-versions", tool_broker_api_versions },
    { "kafka-configs", tool_configs },
    { "kafka-consumer-groups", tool_consumer_groups },
    { "kafka-console-producer", tool_console_producer },
    { "kafka-console-consumer", tool_console_consumer },
};

/* The tool for a program name: its last path component, ".sh" allowed. */
static int (*find_tool(const char *argv0))(int, char **)
{
    const char *base = strrchr(argv0, '/') ? strrchr(argv0, '/') + 1 : argv0;
    size_t n = strlen(base);
    if (n > 3 && strcmp(base + n - 3, ".sh") == 0)
        n -= 3;
    for (size_t i = 0; i < sizeof TOOLS / sizeof TOOLS[0]; i++)
        if (strlen(TOOLS[i].name) == n && strncmp(TOOLS[i].name, base, n) == 0) {
            cli_tool_name = TOOLS[i].name;
            return TOOLS[i].run;
        }
    return NULL;
}

int main(int argc, char **argv)
{
    int (*run)(int, char **) = argc > 0 ? find_tool(argv[0]) : NULL;
    if (run)
        return run(argc, argv);
    if (argc > 1 && (run = find_tool(argv[1])))
        return run(argc - 1, argv + 1);
    fprintf(stderr, "usage: kavka-cli TOOL [options]   (or call it by a tool's name)\ntools:");
    for (size_t i = 0; i < sizeof TOOLS / sizeof TOOLS[0]; i++)
        fprintf(stderr, " %s", TOOLS[i].name);
    fputc('\n', stderr);
    return 1;
}
