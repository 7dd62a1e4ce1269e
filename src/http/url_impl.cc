// Compiles Boost.URL into tacc_http (Debian ships no libboost_url for 1.81).
#include <boost/url/src.hpp>
