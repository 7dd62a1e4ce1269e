// jemalloc's settings for every tacc process (linked only with TACC_ALLOCATOR=jemalloc).
//
// A front end's memory follows its connections: 20,000 idle connections take tens of
// MB, and that must come back when they close. jemalloc keeps small objects of one size
// together, so pages freed by closed connections hold nothing else; a background thread
// returns them to the system about a second after they fall idle, without waiting for
// the process to allocate again (decay is otherwise driven by allocation). Measured in
// docs/results.md ("Front-end memory"). MALLOC_CONF in the environment still applies
// on top of this.
extern "C" {
// NOLINTNEXTLINE: the name and type jemalloc looks up in the executable.
extern const char* malloc_conf;
const char* malloc_conf = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
}
