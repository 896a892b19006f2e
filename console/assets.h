/*
 * assets.h — the console's static files (console/www/), embedded at build
 * time by console/embed.py.
 */
#ifndef KAVKA_CONSOLE_ASSETS_H
#define KAVKA_CONSOLE_ASSETS_H

#include <stddef.h>

struct console_asset {
    const char *path;           /* "/app.js"; NULL ends the table */
    const char *content_type;
    const unsigned char *data;
    size_t len;
};

extern const struct console_asset console_assets[];

#endif
