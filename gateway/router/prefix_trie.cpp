#include "gateway/router/prefix_trie.hpp"

#include <algorithm>

namespace portico::router {

namespace {

constexpr std::uint32_t kNone = 0;  // the root is never anyone's child

bool byFirst(const std::pair<char, std::uint32_t>& edge, char first) {
    return edge.first < first;
}

}  // namespace

PrefixTrie::PrefixTrie() : nodes_(1) {}

std::uint32_t PrefixTrie::child(std::uint32_t node, char first) const {
    const auto& children = nodes_[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), first, byFirst);
    return it != children.end() && it->first == first ? it->second : kNone;
}

void PrefixTrie::insert(std::string_view key, std::uint32_t value) {
    ++size_;
    std::uint32_t node = 0;
    std::size_t pos = 0;
    // Indices, not references: adding a node may move the others.
    while (pos < key.size()) {
        const char first = key[pos];
        std::uint32_t next = child(node, first);
        if (next == kNone) {
            Node leaf;
            leaf.label = std::string(key.substr(pos));
            leaf.values.push_back(value);
            auto index = static_cast<std::uint32_t>(nodes_.size());
            nodes_.push_back(std::move(leaf));
            auto& children = nodes_[node].children;
            children.insert(std::lower_bound(children.begin(), children.end(), first, byFirst),
                            {first, index});
            return;
        }
        std::string_view label = nodes_[next].label;
        std::string_view rest = key.substr(pos);
        std::size_t common = 0;
        while (common < label.size() && common < rest.size() && label[common] == rest[common]) {
            ++common;
        }
        if (common < label.size()) {
            // Split the edge: node -[label[0, common)]-> middle -[label[common, ...)]-> next.
            Node middle;
            middle.label = std::string(label.substr(0, common));
            middle.children.emplace_back(label[common], next);
            auto index = static_cast<std::uint32_t>(nodes_.size());
            nodes_[next].label.erase(0, common);
            nodes_.push_back(std::move(middle));
            auto& children = nodes_[node].children;
            std::lower_bound(children.begin(), children.end(), first, byFirst)->second = index;
            next = index;
        }
        node = next;
        pos += common;
    }
    nodes_[node].values.push_back(value);
}

}  // namespace portico::router
