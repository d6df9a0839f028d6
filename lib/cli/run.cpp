// The tool shell. SIGPIPE is ignored so a closed pipe surfaces as EPIPE (dcar::BrokenPipe) and ends quietly;
// stdout is flushed and its close checked at the end, so a full disk is an error rather than short output.
#include "cli/run.hpp"

#include <csignal>
#include <cstdio>
#include <iostream>
#include <unistd.h>

#include "cli/progress.hpp"
#include "core/error.hpp"
#include "core/text.hpp"
#include "core/threads.hpp"
#include "core/version.hpp"
#include "io/atomic_file.hpp"
#include "io/sink.hpp"

namespace dcar::cli {

void Context::refuse_terminal(const io::Sink& sink) const {
    if (sink.is_terminal() && !args.count("force"))
        throw Error(ErrorCode::usage, "refusing to write binary output to a terminal (redirect it, use -o FILE, or --force)");
}

std::vector<std::string> Context::inputs(bool default_stdin) const {
    std::vector<std::string> in;
    if (args.count("input")) in = args["input"].as<std::vector<std::string>>();
    if (in.empty() && default_stdin) in.push_back("-");
    return in;
}

std::string Context::output_path(const std::string& name) const {
    const std::string path = args[name].as<std::string>();
    if (path.empty()) throw Error(ErrorCode::usage, "--" + name + ": empty file name");
    return path;
}

namespace {

constexpr int max_threads = 1024;

void print_message(const std::string& tool, const std::string& message) {
    std::fflush(stdout);
    std::cout.flush();
    std::cerr << tool << ": " << message << '\n';
}

int finish_stdout(const std::string& tool) {
    std::cout.flush();
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        if (errno == EPIPE) return exit_ok;
        print_message(tool, "error writing to stdout");
        return exit_error;
    }
    return exit_ok;
}

}  // namespace

int run_tool(ToolSpec spec, int argc, char** argv, const ToolBody& body) {
    std::signal(SIGPIPE, SIG_IGN);
    io::remove_temporaries_on_signals();
    const std::string program = spec.name.substr(0, spec.name.find(' '));
    Context context;
    // The tool's name (with its subcommand) stays unquoted so the line reads back as a command.
    const std::vector<std::string> arguments(argv + 1, argv + argc);
    context.provenance = {program, version_line(), spec.name + (arguments.empty() ? "" : " " + text::quote_argv(arguments))};

    add_common_options(spec.options);
    po::options_description hidden;
    hidden.add_options()("dump-options", "list every long option (for documentation tests)");
    if (!spec.positional_name.empty() && !spec.options.find_nothrow(spec.positional_name, false) &&
        !spec.hidden.find_nothrow(spec.positional_name, false))
        hidden.add_options()(spec.positional_name.c_str(), po::value<std::vector<std::string>>(), "inputs");
    po::options_description all;
    all.add(spec.options).add(spec.hidden).add(hidden);

    try {
        po::store(po::command_line_parser(argc, argv).options(all).positional(spec.positional).run(), context.args);
        // --help and friends must work even when required options are missing, so notify() waits for them.
        if (!context.args.count("help") && !context.args.count("version") && !context.args.count("dump-options"))
            po::notify(context.args);
    } catch (const po::error& e) {
        print_message(spec.name, e.what());
        std::cerr << "usage: " << spec.usage << "\nTry '" << spec.name << " --help' for more information.\n";
        return exit_usage;
    }
    if (context.args.count("help")) {
        std::cout << "usage: " << spec.usage << "\n\n" << spec.summary << "\n\n" << spec.options;
        return finish_stdout(spec.name);
    }
    if (context.args.count("version")) {
        std::cout << program << ' ' << version_line() << '\n';
        return finish_stdout(spec.name);
    }
    if (context.args.count("dump-options")) {
        for (const auto& name : long_option_names(spec.options)) std::cout << name << '\n';
        return finish_stdout(spec.name);
    }

    const int threads = context.args["threads"].as<int>();
    if (threads < 0 || threads > max_threads) {
        print_message(spec.name, "--threads must be between 0 and " + std::to_string(max_threads));
        std::cerr << "Try '" << spec.name << " --help' for more information.\n";
        return exit_usage;
    }
    context.quiet = context.args.count("quiet") > 0;
    context.threads = set_threads(threads);
    ProgressMode progress_when;
    try {
        progress_when = progress_mode(context.args["progress"].as<std::string>(), context.quiet, ::isatty(2) == 1);
    } catch (const Error& e) {
        print_message(spec.name, e.what());
        std::cerr << "Try '" << spec.name << " --help' for more information.\n";
        return exit_usage;
    }
    ProgressPrinter progress(progress_when, spec.name);
    const std::string tool = spec.name;
    const bool quiet = context.quiet;
    context.log.set_message_sink([&progress, tool, quiet](LogLevel level, const std::string& message) {
        if (level == LogLevel::info && quiet) return;
        progress.finish();
        print_message(tool, level == LogLevel::warn ? "warning: " + message : message);
    });
    context.log.set_progress_sink([&progress](const std::string& what, uint64_t done, uint64_t total) { progress.update(what, done, total); });

    int status;
    try {
        status = body(context);
        progress.finish();
    } catch (const BrokenPipe&) {
        progress.finish();
        return exit_ok;
    } catch (const Error& e) {
        progress.finish();
        print_message(spec.name, e.what());
        if (e.code() == ErrorCode::usage) {
            std::cerr << "Try '" << spec.name << " --help' for more information.\n";
            return exit_usage;
        }
        return exit_error;
    } catch (const std::bad_alloc&) {
        progress.finish();
        print_message(spec.name, "out of memory");
        return exit_error;
    } catch (const std::exception& e) {
        progress.finish();
        print_message(spec.name, std::string("internal error: ") + e.what());
        return exit_error;
    }
    const int out = finish_stdout(spec.name);
    return out != exit_ok ? out : status;
}

int run_subcommand(const std::string& tool, int argc, char** argv, const std::vector<Subcommand>& subcommands) {
    auto usage = [&](std::ostream& os) {
        os << "usage: " << tool << " COMMAND [options] ...\n\ncommands:\n";
        for (const auto& s : subcommands) os << "  " << s.name << std::string(s.name.size() < 8 ? 8 - s.name.size() : 1, ' ') << s.summary << '\n';
        os << "\nRun '" << tool << " COMMAND --help' for a command's options.\n";
    };
    if (argc < 2) {
        usage(std::cerr);
        return exit_usage;
    }
    const std::string command = argv[1];
    if (command == "--help" || command == "-h" || command == "help") {
        if (argc >= 3) {
            for (const auto& s : subcommands)
                if (s.name == argv[2]) {
                    char help[] = "--help";
                    char* args[] = {argv[0], help, nullptr};
                    return s.main(2, args);
                }
        }
        usage(std::cout);
        return finish_stdout(tool);
    }
    if (command == "--version" || command == "-V") {
        std::cout << tool << ' ' << version_line() << '\n';
        return finish_stdout(tool);
    }
    if (command == "--dump-options") {
        for (const auto& s : subcommands) std::cout << s.name << '\n';
        return finish_stdout(tool);
    }
    for (const auto& s : subcommands)
        if (s.name == command) return s.main(argc - 1, argv + 1);
    print_message(tool, "unknown command '" + command + "'");
    usage(std::cerr);
    return exit_usage;
}

}  // namespace dcar::cli
