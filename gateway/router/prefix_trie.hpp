#pragma once
// PrefixTrie: a radix tree over byte strings that answers "which stored keys are prefixes of this
// text?" in one walk along the text, whatever the number of keys. The router keeps one per host
// bucket over the prefix paths, and two over wildcard hosts (reversed "*.example.com" suffixes,
// "example.*" prefixes). Keys are compared byte for byte (case-sensitive, no normalization).
// Built once, then read concurrently: the const members are thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::router {

class PrefixTrie {
public:
    PrefixTrie();

    // Stores `value` under `key`; a key may carry several values (kept in insertion order).
    // The empty key is a prefix of every text.
    void insert(std::string_view key, std::uint32_t value);

    // Calls visit(value) for the values of every key that is a prefix of `text` (the text
    // itself included), shortest key first. Cost: one walk along the text.
    template <typename Visit>
    void forEachPrefixOf(std::string_view text, Visit&& visit) const {
        std::uint32_t node = 0;
        std::size_t pos = 0;
        for (;;) {
            for (auto value : nodes_[node].values) {
                visit(value);
            }
            if (pos == text.size()) {
                return;
            }
            std::uint32_t next = child(node, text[pos]);
            if (next == 0) {
                return;
            }
            const std::string& label = nodes_[next].label;
            if (text.compare(pos, label.size(), label) != 0) {
                return;
            }
            pos += label.size();
            node = next;
        }
    }

    bool empty() const { return size_ == 0; }
    std::size_t size() const { return size_; }  // values stored

private:
    struct Node {
        std::string label;  // the edge from the parent; empty only for the root
        std::vector<std::uint32_t> values;
        std::vector<std::pair<char, std::uint32_t>> children;  // by first label byte, sorted
    };

    // The child of `node` whose label starts with `first`, or 0 (the root is no one's child).
    std::uint32_t child(std::uint32_t node, char first) const;

    std::vector<Node> nodes_;  // nodes_[0] is the root
    std::size_t size_ = 0;
};

}  // namespace portico::router
