// Asio and Beast compiled once for the whole program (BOOST_ASIO_SEPARATE_COMPILATION,
// BOOST_BEAST_SEPARATE_COMPILATION), as Beast's own tests do.
#include <boost/asio/impl/src.hpp>
#include <boost/beast/src.hpp>
