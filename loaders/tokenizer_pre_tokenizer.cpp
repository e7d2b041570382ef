#include "loaders/tokenizer_pre_tokenizer.h"

#include <string_view>

namespace vkmoe {
namespace {

struct Segment {
  std::size_t begin, end;
  bool is_match;
};

// Matches of one step inside one piece, with the gaps between them, as the Rust crate's
// Pattern::find_matches returns them (an empty match right after the previous match is
// skipped; an empty piece is one unmatched segment).
std::vector<Segment> find_matches(const PreTokenizerStep& step, std::u32string_view piece) {
  if (piece.empty()) return {{0, 0, false}};
  std::vector<Segment> out;
  std::size_t prev = 0;
  if (!step.regex) {
    if (step.literal.empty()) return {{0, piece.size(), false}};
    for (std::size_t at = piece.find(step.literal); at != std::u32string_view::npos;
         at = piece.find(step.literal, prev)) {
      if (prev != at) out.push_back({prev, at, false});
      out.push_back({at, at + step.literal.size(), true});
      prev = at + step.literal.size();
    }
  } else {
    for (const TokenizerRegex::Match& m : step.regex->find_all(piece)) {
      if (prev != m.begin) out.push_back({prev, m.begin, false});
      out.push_back({m.begin, m.end, true});
      prev = m.end;
    }
  }
  if (prev != piece.size()) out.push_back({prev, piece.size(), false});
  return out;
}

// Applies the delimiter behaviour (tokenizers' SplitDelimiterBehavior) to the segments.
std::vector<Segment> apply_behavior(std::vector<Segment> segments, SplitBehavior behavior) {
  std::vector<Segment> out;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      return segments;
    case SplitBehavior::kRemoved:
      for (const Segment& s : segments) {
        if (!s.is_match) out.push_back(s);
      }
      return out;
    case SplitBehavior::kMergedWithPrevious:
      for (const Segment& s : segments) {
        if (s.is_match && !previous_match && !out.empty()) {
          out.back().end = s.end;
        } else {
          out.push_back(s);
        }
        previous_match = s.is_match;
      }
      return out;
    case SplitBehavior::kMergedWithNext:
      for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
        if (it->is_match && !previous_match && !out.empty()) {
          out.back().begin = it->begin;
        } else {
          out.push_back(*it);
        }
        previous_match = it->is_match;
      }
      return {out.rbegin(), out.rend()};
    case SplitBehavior::kContiguous:
      for (const Segment& s : segments) {
        if (s.is_match == previous_match && !out.empty()) {
          out.back().end = s.end;
        } else {
          out.push_back(s);
        }
        previous_match = s.is_match;
      }
      return out;
  }
  return segments;
}

}  // namespace

std::vector<Piece> pre_tokenize(const std::vector<PreTokenizerStep>& steps,
                                std::u32string& buffer) {
  std::vector<Piece> pieces{{0, buffer.size()}};
  std::vector<Piece> next;
  for (const PreTokenizerStep& step : steps) {
    next.clear();
    for (Piece piece : pieces) {
      if (step.kind == PreTokenizerStep::Kind::kByteLevel) {
        if (step.add_prefix_space && (piece.begin == piece.end || buffer[piece.begin] != U' ')) {
          const std::size_t begin = buffer.size();
          buffer.push_back(U' ');
          buffer.append(buffer, piece.begin, piece.end - piece.begin);
          piece = {begin, buffer.size()};
        }
        if (!step.regex) {
          next.push_back(piece);
          continue;
        }
      }
      const std::u32string_view view(buffer.data() + piece.begin, piece.end - piece.begin);
      std::vector<Segment> segments = find_matches(step, view);
      if (step.invert) {
        for (Segment& s : segments) s.is_match = !s.is_match;
      }
      for (const Segment& s : apply_behavior(std::move(segments), step.behavior)) {
        if (s.end > s.begin) next.push_back({piece.begin + s.begin, piece.begin + s.end});
      }
    }
    pieces.swap(next);
  }
  return pieces;
}

}  // namespace vkmoe
