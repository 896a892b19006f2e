/*
 * The znode tree: Stat exactly as ZooKeeper fills it, error codes, and
 * multi's undo scope restoring everything (stats included).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "tree.h"

static struct tree t;
static struct zacl_list open_acl;

static void setup(void)
{
    cr_assert_eq(tree_init(&t), 0);
    cr_assert_eq(zacl_list_open(&open_acl), 0);
}

static void teardown(void)
{
    tree_free(&t);
    zacl_list_free(&open_acl);
}

TestSuite(znode, .init = setup, .fini = teardown);

static struct zstat stat_of(const char *path)
{
    struct zstat st;
    struct znode *n = tree_getc(&t, path);
    cr_assert_not_null(n, "%s missing", path);
    znode_stat(n, &st);
    return st;
}

Test(znode, system_nodes)
{
    cr_assert_not_null(tree_getc(&t, "/zookeeper/quota"));
    cr_assert_not_null(tree_getc(&t, "/zookeeper/config"));
    /* children added without a create: the reported cversion is negative,
     * as ZooKeeper's root and /zookeeper show it */
    cr_assert_eq(stat_of("/").cversion, -1);
    cr_assert_eq(stat_of("/zookeeper").num_children, 2);
}

Test(znode, create_stat_rules)
{
    cr_assert_eq(tree_create(&t, "/a", "xy", 2, &open_acl, 0, 5, 1000), ZOK);
    struct zstat a = stat_of("/a");
    cr_assert(a.czxid == 5 && a.mzxid == 5 && a.pzxid == 5 && a.ctime == 1000 && a.mtime == 1000);
    cr_assert(a.version == 0 && a.cversion == 0 && a.data_length == 2 && a.num_children == 0);
    cr_assert_eq(tree_create(&t, "/a/b", NULL, -1, &open_acl, 0, 6, 1001), ZOK);
    a = stat_of("/a");
    cr_assert(a.cversion == 1 && a.pzxid == 6 && a.mzxid == 5 && a.num_children == 1);
    cr_assert_eq(stat_of("/a/b").data_length, 0);
    cr_assert_eq(tree_set_data(&t, "/a", "z", 1, 7, 1002), ZOK);
    a = stat_of("/a");
    cr_assert(a.version == 1 && a.mzxid == 7 && a.mtime == 1002 && a.pzxid == 6);
    cr_assert_eq(tree_delete(&t, "/a/b", 8), ZOK);
    a = stat_of("/a");
    cr_assert(a.cversion == 2 && a.pzxid == 8 && a.num_children == 0);
    /* the stored cversion (sequential suffixes) counts creates only */
    cr_assert_eq(tree_getc(&t, "/a")->st.cversion, 1);
    cr_assert_eq(tree_set_acl(&t, "/a", &open_acl), ZOK);
    cr_assert_eq(stat_of("/a").aversion, 1);
}

Test(znode, errors)
{
    cr_assert_eq(tree_create(&t, "/x/y", NULL, -1, &open_acl, 0, 2, 0), ZNONODE);
    cr_assert_eq(tree_create(&t, "/e", NULL, -1, &open_acl, 0x1234, 2, 0), ZOK);
    cr_assert_eq(tree_create(&t, "/e", NULL, -1, &open_acl, 0, 3, 0), ZNODEEXISTS);
    cr_assert_eq(tree_create(&t, "/e/c", NULL, -1, &open_acl, 0, 3, 0), ZNOCHILDRENFOREPHEMERALS);
    cr_assert_eq(tree_create(&t, "/c", NULL, -1, &open_acl, ZK_CONTAINER_OWNER, 4, 0), ZOK);
    cr_assert_eq(tree_create(&t, "/c/k", NULL, -1, &open_acl, 0, 5, 0), ZOK, "containers have children");
    cr_assert_eq(tree_delete(&t, "/c", 6), ZNOTEMPTY);
    cr_assert_eq(tree_delete(&t, "/nope", 6), ZNONODE);
    cr_assert_eq(tree_set_data(&t, "/nope", NULL, -1, 6, 0), ZNONODE);
}

Test(znode, events)
{
    tree_clear_events(&t);
    cr_assert_eq(tree_create(&t, "/w", NULL, -1, &open_acl, 0, 2, 0), ZOK);
    cr_assert_eq(t.nevents, 2);
    cr_assert(t.events[0].type == ZEV_CREATED && strcmp(t.events[0].path, "/w") == 0);
    cr_assert(t.events[1].type == ZEV_CHILDCHANGED && strcmp(t.events[1].path, "/") == 0);
    tree_clear_events(&t);
    cr_assert_eq(tree_set_data(&t, "/w", "1", 1, 3, 0), ZOK);
    cr_assert(t.nevents == 1 && t.events[0].type == ZEV_DATACHANGED);
    tree_clear_events(&t);
}

Test(znode, rollback_restores_everything)
{
    cr_assert_eq(tree_create(&t, "/r", "d", 1, &open_acl, 0, 2, 0), ZOK);
    cr_assert_eq(tree_create(&t, "/r/old", NULL, -1, &open_acl, 0, 3, 0), ZOK);
    struct zstat before = stat_of("/r");
    size_t count = t.count;
    tree_begin(&t);
    cr_assert_eq(tree_create(&t, "/r/new", NULL, -1, &open_acl, 0, 4, 0), ZOK);
    cr_assert_eq(tree_delete(&t, "/r/old", 4), ZOK);
    cr_assert_eq(tree_set_data(&t, "/r", "changed", 7, 4, 9), ZOK);
    cr_assert_eq(tree_set_acl(&t, "/r", &open_acl), ZOK);
    tree_rollback(&t);
    struct zstat after = stat_of("/r");
    cr_assert(before.mzxid == after.mzxid && before.pzxid == after.pzxid &&
              before.version == after.version && before.cversion == after.cversion &&
              before.aversion == after.aversion && before.mtime == after.mtime &&
              before.num_children == after.num_children &&
              before.data_length == after.data_length, "stat restored");
    cr_assert_eq(t.count, count);
    cr_assert_null(tree_getc(&t, "/r/new"));
    cr_assert_not_null(tree_getc(&t, "/r/old"));
    cr_assert_eq(tree_getc(&t, "/r")->dlen, 1);
    cr_assert_eq(t.nevents, 0, "a rolled back multi fires nothing");
}

Test(znode, descendants)
{
    cr_assert_eq(tree_create(&t, "/d", NULL, -1, &open_acl, 0, 2, 0), ZOK);
    cr_assert_eq(tree_create(&t, "/d/a", NULL, -1, &open_acl, 0, 3, 0), ZOK);
    cr_assert_eq(tree_create(&t, "/d/a/b", NULL, -1, &open_acl, 0, 4, 0), ZOK);
    cr_assert_eq(tree_create(&t, "/d/c", NULL, -1, &open_acl, 0, 5, 0), ZOK);
    cr_assert_eq(tree_count_descendants(tree_getc(&t, "/d")), 3);
    cr_assert_eq(tree_count_descendants(tree_getc(&t, "/d/c")), 0);
}
