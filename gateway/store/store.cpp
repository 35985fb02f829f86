#include "gateway/store/store.hpp"

namespace portico::store {

const char* toString(Operation operation) {
    switch (operation) {
        case Operation::Create:
            return "create";
        case Operation::Update:
            return "update";
        case Operation::Delete:
            return "delete";
    }
    return "unknown";
}

}  // namespace portico::store
