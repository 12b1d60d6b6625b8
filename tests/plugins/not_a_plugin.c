/* A shared object that is not a Berth plugin: no entry symbol. */
int some_library_function(int x) { return x + 1; }
