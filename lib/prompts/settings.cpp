#include "prompts/settings.hpp"

#include "core/enum_words.hpp"

namespace dcar::train {

namespace {
const EnumWord<VisualMode> visual_mode_words[] = {
    {VisualMode::none, "none"}, {VisualMode::coupled, "coupled"}, {VisualMode::independent, "independent"}};
}  // namespace

VisualMode parse_visual_mode(const std::string& text) { return parse_enum(text, visual_mode_words, "visual prompts are"); }
const char* visual_mode_name(VisualMode mode) { return enum_word(mode, visual_mode_words); }

}  // namespace dcar::train
