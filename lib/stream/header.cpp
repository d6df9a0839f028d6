// Header JSON (de)serialisation and the compatibility rule.
#include "stream/header.hpp"

#include <cmath>
#include <nlohmann/json.hpp>

#include "core/json.hpp"
#include "core/error.hpp"

namespace dcar::stream {

const char* to_string(ElementType t) { return t == ElementType::f16 ? "f16" : "f32"; }

const char* to_string(Modality m) {
    switch (m) {
        case Modality::image: return "image";
        case Modality::text: return "text";
        default: return "unknown";
    }
}

ElementType parse_element_type(const std::string& s) {
    if (s == "f32") return ElementType::f32;
    if (s == "f16") return ElementType::f16;
    throw Error(ErrorCode::usage, "unknown element type '" + s + "' (expected f32 or f16)");
}

Modality parse_modality(const std::string& s) {
    if (s == "image") return Modality::image;
    if (s == "text") return Modality::text;
    if (s == "unknown") return Modality::unknown;
    throw Error(ErrorCode::usage, "unknown modality '" + s + "' (expected image, text or unknown)");
}

size_t element_size(ElementType t) { return t == ElementType::f16 ? 2 : 4; }

std::string Header::to_json() const {
    nlohmann::json j;
    j["dim"] = dim;
    j["dtype"] = to_string(dtype);
    j["modality"] = to_string(modality);
    j["normalized"] = normalized;
    j["model"] = model;
    j["provenance"] = nlohmann::json::array();
    for (const auto& p : provenance) j["provenance"].push_back({{"tool", p.tool}, {"version", p.version}, {"args", p.args}});
    return dump_json(j);
}

Header Header::from_json(const std::string& text, const std::string& place) {
    Header h;
    try {
        const auto j = nlohmann::json::parse(text);
        if (!j.at("dim").is_number_integer())
            throw_error(ErrorCode::format, place, "header: dimension " + dump_json(j.at("dim")) + " is not a whole number");
        const auto dim = j.at("dim").get<int64_t>();
        if (dim <= 0 || dim > (1 << 20)) throw_error(ErrorCode::format, place, "header: dimension " + std::to_string(dim) + " out of range");
        h.dim = uint32_t(dim);
        h.dtype = parse_element_type(j.at("dtype").get<std::string>());
        h.modality = parse_modality(j.at("modality").get<std::string>());
        h.normalized = j.at("normalized").get<bool>();
        h.model = j.at("model").get<std::string>();
        for (const auto& p : j.at("provenance"))
            h.provenance.push_back({p.at("tool").get<std::string>(), p.at("version").get<std::string>(), p.at("args").get<std::string>()});
    } catch (const nlohmann::json::exception& e) {
        throw_error(ErrorCode::format, place, std::string("header: ") + e.what());
    } catch (const Error& e) {
        if (e.code() == ErrorCode::format) throw;
        throw_error(ErrorCode::format, place, std::string("header: ") + e.what());
    }
    return h;
}

std::string incompatibility(const Header& a, const Header& b) {
    if (a.dim != b.dim) return "dimension " + std::to_string(b.dim) + " where " + std::to_string(a.dim) + " was expected";
    if (a.modality != Modality::unknown && b.modality != Modality::unknown && a.modality != b.modality)
        return std::string("modality ") + to_string(b.modality) + " where " + to_string(a.modality) + " was expected";
    if (!a.model.empty() && !b.model.empty() && a.model != b.model)
        return "model " + b.model + " where " + a.model + " was expected";
    return "";
}

void adopt_known_fields(Header& into, const Header& from) {
    if (into.model.empty()) into.model = from.model;
    if (into.modality == Modality::unknown) into.modality = from.modality;
}

void Batch::clear() {
    ids.clear();
    labels.clear();
    vectors.clear();
}

void Batch::add(std::string id, std::string label, const float* vector) {
    ids.push_back(std::move(id));
    labels.push_back(std::move(label));
    vectors.insert(vectors.end(), vector, vector + dim);
}

void Batch::append(const Batch& other) {
    if (other.dim != dim) throw Error(ErrorCode::internal, "Batch::append: dimension differs");
    ids.insert(ids.end(), other.ids.begin(), other.ids.end());
    labels.insert(labels.end(), other.labels.begin(), other.labels.end());
    vectors.insert(vectors.end(), other.vectors.begin(), other.vectors.end());
}

void normalize_rows(float* rows, size_t n, uint32_t dim) {
    for (size_t i = 0; i < n; ++i) {
        float* r = rows + i * dim;
        double sum = 0;
        for (uint32_t k = 0; k < dim; ++k) sum += double(r[k]) * r[k];
        if (sum <= 0) continue;
        const float scale = float(1.0 / std::sqrt(sum));
        for (uint32_t k = 0; k < dim; ++k) r[k] *= scale;
    }
}

}  // namespace dcar::stream
