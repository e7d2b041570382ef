#include "loaders/checkpoint.h"

#include <set>

#include "loaders/json_guard.h"
#include "loaders/load_error.h"
#include "loaders/safetensors.h"

namespace vkmoe {

namespace {

using nlohmann::json;

bool is_plain_file_name(std::string_view s) {
  return !s.empty() && s != "." && s != ".." && s.find('/') == std::string_view::npos &&
         s.find('\\') == std::string_view::npos && s.find('\0') == std::string_view::npos;
}

std::string read_text(const std::filesystem::path& path) {
  const MappedFile f = MappedFile::open(path);
  return {reinterpret_cast<const char*>(f.bytes().data()), f.bytes().size()};
}

}  // namespace

std::vector<std::string> ShardIndex::shard_files() const {
  std::set<std::string> names;
  for (const auto& [tensor, shard] : weight_map) names.insert(shard);
  return {names.begin(), names.end()};
}

ShardIndex parse_shard_index(std::string_view json_text, std::string_view file_name) {
  const std::string file(file_name);
  const json j = parse_untrusted_json(json_text, file_name);
  if (!j.is_object()) throw LoadError(file + ": not a JSON object");
  ShardIndex out;
  if (const auto meta = j.find("metadata"); meta != j.end() && !meta->is_null()) {
    if (!meta->is_object()) throw LoadError(file + ": 'metadata' is not an object");
    if (const auto ts = meta->find("total_size"); ts != meta->end()) {
      if (ts->is_number_unsigned()) {
        out.total_size = ts->get<std::uint64_t>();
      } else if (ts->is_number_float() && ts->get<double>() >= 0 && ts->get<double>() < 1.8e19) {
        out.total_size = static_cast<std::uint64_t>(ts->get<double>());
      } else {
        throw LoadError(file + ": 'metadata.total_size' is " + ts->dump() +
                        ", not a non-negative number");
      }
    }
  }
  const auto wm = j.find("weight_map");
  if (wm == j.end()) throw LoadError(file + ": no 'weight_map'");
  if (!wm->is_object()) throw LoadError(file + ": 'weight_map' is not an object");
  for (const auto& [tensor, shard] : wm->items()) {
    if (!shard.is_string()) {
      throw LoadError(file + ": weight_map entry '" + tensor + "' is not a string");
    }
    const auto& name = shard.get_ref<const std::string&>();
    if (!is_plain_file_name(name)) {
      throw LoadError(file + ": weight_map maps tensor '" + tensor + "' to '" + name +
                      "', which is not a file name in the index's folder");
    }
    out.weight_map.emplace(tensor, name);
  }
  return out;
}

ShardIndex read_shard_index(const std::filesystem::path& path) {
  return parse_shard_index(read_text(path), path.string());
}

Checkpoint Checkpoint::open(const std::filesystem::path& path) {
  Checkpoint c;
  std::filesystem::path index_path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    if (std::filesystem::exists(path / kShardIndexName, ec)) {
      index_path = path / kShardIndexName;
    } else if (std::filesystem::exists(path / kSingleFileName, ec)) {
      c.add_file(path / kSingleFileName);
    } else {
      throw LoadError(path.string() + ": no " + std::string(kShardIndexName) + " or " +
                      std::string(kSingleFileName) + " in this folder");
    }
  } else if (path.extension() == ".json") {
    index_path = path;
  } else {
    c.add_file(path);
  }

  if (!index_path.empty()) {
    const ShardIndex index = read_shard_index(index_path);
    for (const std::string& shard : index.shard_files()) {
      c.add_file(index_path.parent_path() / shard);
    }
    c.index_names();
    for (const auto& [tensor, shard] : index.weight_map) {
      const TensorView* v = c.find(tensor);
      const std::string want = (index_path.parent_path() / shard).string();
      if (v == nullptr || v->file != want) {
        throw LoadError(index_path.string() + ": weight_map puts tensor '" + tensor +
                        "' in shard '" + shard + "', which does not hold it");
      }
    }
    return c;
  }
  c.index_names();
  return c;
}

void Checkpoint::add_file(const std::filesystem::path& path) {
  MappedFile f = MappedFile::open(path);
  SafetensorsHeader h = parse_safetensors(f.bytes(), path.string());
  if (files_.empty()) metadata_ = std::move(h.metadata);
  for (TensorView& v : h.tensors) tensors_.push_back(std::move(v));
  files_.push_back(std::move(f));  // the mapping moves, its address does not
  paths_.push_back(path);
}

void Checkpoint::index_names() {
  by_name_.clear();
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    const auto [it, inserted] = by_name_.emplace(tensors_[i].name, i);
    if (!inserted) {
      throw LoadError(tensors_[i].file + ": tensor '" + tensors_[i].name + "' is also in " +
                      tensors_[it->second].file);
    }
  }
}

const TensorView* Checkpoint::find(std::string_view name) const {
  const auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

std::uint64_t Checkpoint::file_bytes() const {
  std::uint64_t n = 0;
  for (const MappedFile& f : files_) n += f.size();
  return n;
}

}  // namespace vkmoe
