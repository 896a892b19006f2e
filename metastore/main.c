/* kavka-metastore: placeholder until the metastore issue lands. */
#include <stdio.h>
int main(void)
{
    fprintf(stderr, "kavka-metastore: not implemented yet\n");
    return 1;
}
