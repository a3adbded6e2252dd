#include "track/params.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <sstream>
#include <type_traits>
#include <variant>

#include "common/error.h"
#include "presets_embedded.h"

namespace oceanplus::track {
namespace {

using nlohmann::json;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

const char* embedded_preset_text(const std::string& name) {
  for (const auto& entry : embedded::kPresets) {
    if (name == entry.name) return entry.text;
  }
  return nullptr;
}

std::string names_list() {
  std::string out;
  for (const auto& n : preset_names()) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Every plain key of the JSON format and the member it sets: the one list the parser, the unknown-key check and
// params_to_json all read. ("search_rounding" and "crop_rounding" are enums, handled on their own.)
using Member = std::variant<double TrackerParams::*, int TrackerParams::*, bool TrackerParams::*>;
struct Field {
  const char* key;
  Member member;
};
const Field kFields[] = {
    {"penalty_k", &TrackerParams::penalty_k},
    {"window_influence", &TrackerParams::window_influence},
    {"lr", &TrackerParams::lr},
    {"smooth_size_twice", &TrackerParams::smooth_size_twice},
    {"small_instance_size", &TrackerParams::small_instance_size},
    {"big_instance_size", &TrackerParams::big_instance_size},
    {"small_target_area", &TrackerParams::small_target_area},
    {"context_amount", &TrackerParams::context_amount},
    {"min_target_size", &TrackerParams::min_target_size},
    {"template_update", &TrackerParams::template_update},
    {"update_threshold", &TrackerParams::update_threshold},
    {"seg_thr", &TrackerParams::seg_thr},
    {"box_fallback_min_pixels", &TrackerParams::box_fallback_min_pixels},
    {"cyclic_iterations", &TrackerParams::cyclic_iterations},
    {"cyclic_fake_ratio", &TrackerParams::cyclic_fake_ratio},
    {"cyclic_polygon_ratio", &TrackerParams::cyclic_polygon_ratio},
    {"uncertain_score", &TrackerParams::uncertain_score},
};

// Sets the field from the document's value, checking its JSON type against the member's.
void read_field(const json& value, const Field& field, TrackerParams& p, const std::string& origin) {
  const std::string key = field.key;
  std::visit(
      [&](auto member) {
        using T = std::remove_reference_t<decltype(p.*member)>;
        if constexpr (std::is_same_v<T, bool>) {
          if (!value.is_boolean()) throw Error(origin + ": key '" + key + "' must be true or false");
        } else {
          if (!value.is_number()) throw Error(origin + ": key '" + key + "' must be a number");
          if (std::is_integral_v<T> && !value.is_number_integer()) {
            throw Error(origin + ": key '" + key + "' must be an integer");
          }
        }
        p.*member = value.get<T>();
      },
      field.member);
}

void check_range(bool ok, const char* key, const char* rule, const std::string& origin) {
  if (!ok) throw Error(origin + ": key '" + key + "' must be " + rule);
}

void validate(const TrackerParams& p, const std::string& origin) {
  check_range(p.penalty_k >= 0, "penalty_k", ">= 0", origin);
  check_range(p.window_influence >= 0 && p.window_influence <= 1, "window_influence", "in [0, 1]", origin);
  check_range(p.lr >= 0 && p.lr <= 1, "lr", "in [0, 1]", origin);
  check_range(p.small_instance_size > 0, "small_instance_size", "> 0", origin);
  check_range(p.big_instance_size > 0, "big_instance_size", "> 0", origin);
  check_range(p.small_target_area >= 0 && p.small_target_area <= 1, "small_target_area", "in [0, 1]", origin);
  check_range(p.context_amount >= 0, "context_amount", ">= 0", origin);
  check_range(p.min_target_size >= 1, "min_target_size", ">= 1", origin);
  check_range(p.seg_thr >= 0 && p.seg_thr <= 1, "seg_thr", "in [0, 1]", origin);
  check_range(p.box_fallback_min_pixels >= 0, "box_fallback_min_pixels", ">= 0", origin);
  check_range(p.cyclic_iterations >= 0 && p.cyclic_iterations <= 100, "cyclic_iterations", "in [0, 100]", origin);
  check_range(p.cyclic_fake_ratio > 0 && p.cyclic_fake_ratio <= 1, "cyclic_fake_ratio", "in (0, 1]", origin);
  check_range(p.cyclic_polygon_ratio > 0 && p.cyclic_polygon_ratio <= 1, "cyclic_polygon_ratio", "in (0, 1]", origin);
}

const char* rounding_name(SideRounding r) {
  return r == SideRounding::HalfAwayFromZero ? "half_away_from_zero" : "half_to_even";
}

TrackerParams parse_with_depth(const std::string& text, const std::string& origin, int depth) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(origin + ": not valid JSON (" + e.what() + ")");
  }
  if (!doc.is_object()) throw Error(origin + ": expected a JSON object of tracker parameters");

  // Without "base", the built-in defaults (which equal the vot2020 preset, as a test checks) are the starting point.
  TrackerParams p;
  if (auto it = doc.find("base"); it != doc.end()) {
    if (!it->is_string()) throw Error(origin + ": key 'base' must be a preset name");
    const std::string base = lower(it->get<std::string>());
    if (depth > 4) throw Error(origin + ": presets nest too deeply (a 'base' cycle?)");
    const char* base_text = embedded_preset_text(base);
    if (!base_text) throw Error(origin + ": unknown base preset '" + base + "' (known: " + names_list() + ")");
    p = parse_with_depth(base_text, "preset " + base, depth + 1);
  }

  for (const auto& item : doc.items()) {
    if (item.key() == "description" || item.key() == "base") continue;
    if (item.key() == "search_rounding") {
      const std::string v = item.value().is_string() ? item.value().get<std::string>() : "";
      if (v == "half_away_from_zero") {
        p.search_rounding = SideRounding::HalfAwayFromZero;
      } else if (v == "half_to_even") {
        p.search_rounding = SideRounding::HalfToEven;
      } else {
        throw Error(origin + ": key 'search_rounding' must be \"half_away_from_zero\" or \"half_to_even\"");
      }
      continue;
    }
    if (item.key() == "crop_rounding") {
      const std::string v = item.value().is_string() ? item.value().get<std::string>() : "";
      if (v == "half_to_even") {
        p.crop_rounding = CornerRounding::HalfToEven;
      } else if (v == "half_up") {
        p.crop_rounding = CornerRounding::HalfUp;
      } else {
        throw Error(origin + ": key 'crop_rounding' must be \"half_to_even\" or \"half_up\"");
      }
      continue;
    }
    const auto field = std::find_if(std::begin(kFields), std::end(kFields),
                                    [&](const Field& f) { return item.key() == f.key; });
    if (field == std::end(kFields)) throw Error(origin + ": unknown key '" + item.key() + "'");
    read_field(item.value(), *field, p, origin);
  }
  validate(p, origin);
  return p;
}

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const auto& entry : embedded::kPresets) names.emplace_back(entry.name);
  return names;
}

TrackerParams preset(const std::string& name) {
  const std::string key = lower(name);
  const char* text = embedded_preset_text(key);
  if (!text) throw Error("unknown tracker preset '" + name + "' (known: " + names_list() + ")");
  TrackerParams p = parse_with_depth(text, "preset " + key, 0);
  p.name = key;
  return p;
}

TrackerParams parse_params_json(const std::string& json_text, const std::string& origin) {
  TrackerParams p = parse_with_depth(json_text, origin, 0);
  p.name = origin;
  return p;
}

TrackerParams load_params(const std::string& name_or_path) {
  if (embedded_preset_text(lower(name_or_path))) return preset(name_or_path);
  std::ifstream in(name_or_path);
  if (!in) {
    throw Error("tracker parameters '" + name_or_path + "': neither a preset (" + names_list() +
                ") nor a readable JSON file");
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_params_json(text.str(), name_or_path);
}

std::string params_to_json(const TrackerParams& p) {
  json doc = {{"name", p.name},
              {"search_rounding", rounding_name(p.search_rounding)},
              {"crop_rounding", p.crop_rounding == CornerRounding::HalfToEven ? "half_to_even" : "half_up"}};
  for (const Field& field : kFields) {
    std::visit([&](auto member) { doc[field.key] = p.*member; }, field.member);
  }
  return doc.dump();
}

}  // namespace oceanplus::track
