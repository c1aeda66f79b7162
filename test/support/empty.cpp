// Keeps plexbutler_test_support a valid library while it has no other sources.
namespace plexbutler::test {
int support_library_anchor = 0;
}
