#pragma once
// The Admin API's JSON answer: `body` serialized with Kong's Content-Type. Shared by every
// handler file of gw_admin.

#include "gateway/http/http_message.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace portico::admin {

inline http::HttpResponse jsonResponse(int status, const boost::json::value& body) {
    http::HttpResponse response;
    response.status = status;
    response.set("Content-Type", "application/json; charset=utf-8");
    response.body = boost::json::serialize(body);
    return response;
}

}  // namespace portico::admin
