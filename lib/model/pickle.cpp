#include "model/pickle.hpp"

#include <cstdio>
#include <cstring>
#include <map>
#include <memory>

#include "core/error.hpp"

namespace dcar::model::pickle {

size_t element_size(StorageType type) {
    switch (type) {
        case StorageType::f64:
        case StorageType::i64: return 8;
        case StorageType::f32:
        case StorageType::i32: return 4;
        case StorageType::f16:
        case StorageType::bf16:
        case StorageType::i16: return 2;
        case StorageType::i8:
        case StorageType::u8:
        case StorageType::boolean: return 1;
    }
    return 1;
}

namespace {

// Objects live in the unpickler's arena and refer to each other by plain pointers: a pickle can make a dict
// that contains itself, which shared pointers would leak.
struct PyObj;
using PyRef = PyObj*;
struct PyObj {
    enum class Kind { none, boolean, integer, floating, string, bytes, tuple, list, dict, global, storage, tensor };
    Kind kind = Kind::none;
    int64_t i = 0;
    double f = 0;
    std::string s;                                 // string, bytes, global "module.name", storage key
    std::vector<PyRef> items;                      // tuple, list
    std::vector<std::pair<PyRef, PyRef>> entries;  // dict, in insertion order
    TensorRef tensor;                              // storage (key and type only) or tensor
};

const char* kind_name(PyObj::Kind k) {
    switch (k) {
        case PyObj::Kind::none: return "None";
        case PyObj::Kind::boolean: return "bool";
        case PyObj::Kind::integer: return "int";
        case PyObj::Kind::floating: return "float";
        case PyObj::Kind::string: return "str";
        case PyObj::Kind::bytes: return "bytes";
        case PyObj::Kind::tuple: return "tuple";
        case PyObj::Kind::list: return "list";
        case PyObj::Kind::dict: return "dict";
        case PyObj::Kind::global: return "class or function";
        case PyObj::Kind::storage: return "storage";
        case PyObj::Kind::tensor: return "tensor";
    }
    return "?";
}

class Unpickler {
public:
    Unpickler(const std::string& data, std::string place) : data_(data), place_(std::move(place)) {}

    PyRef make(PyObj::Kind kind) {
        arena_.push_back(std::make_unique<PyObj>());
        arena_.back()->kind = kind;
        return arena_.back().get();
    }

    PyRef run() {
        for (;;) {
            const size_t at = pos_;
            const uint8_t op = u8();
            switch (op) {
                case 0x80: u8(); break;     // PROTO
                case 0x95: take(8); break;  // FRAME (protocol 4): only a read-ahead hint
                case '(': marks_.push_back(stack_.size()); break;
                case '.': return pop();  // STOP
                case '0': pop(); break;  // POP
                case '1': stack_.resize(pop_mark()); break;
                case '2': push(top()); break;  // DUP
                case 'N': push(make(PyObj::Kind::none)); break;
                case 0x88: push_bool(true); break;
                case 0x89: push_bool(false); break;
                case 'K': push_int(u8()); break;
                case 'M': push_int(static_cast<int64_t>(le(2))); break;
                case 'J': push_int(static_cast<int32_t>(le(4))); break;
                case 0x8a: push_int(long1()); break;
                case 'G': {
                    uint64_t bits = 0;
                    for (int k = 0; k < 8; ++k) bits = (bits << 8) | u8();  // big-endian
                    auto v = make(PyObj::Kind::floating);
                    std::memcpy(&v->f, &bits, 8);
                    push(v);
                    break;
                }
                case 'X': push_text(PyObj::Kind::string, le(4)); break;
                case 0x8c: push_text(PyObj::Kind::string, u8()); break;
                case 0x8d: push_text(PyObj::Kind::string, le(8)); break;
                case 'U': push_text(PyObj::Kind::string, u8()); break;   // SHORT_BINSTRING (protocol 1 str)
                case 'T': push_text(PyObj::Kind::string, le(4)); break;  // BINSTRING
                case 'B': push_text(PyObj::Kind::bytes, le(4)); break;
                case 'C': push_text(PyObj::Kind::bytes, u8()); break;
                case ')': push(make(PyObj::Kind::tuple)); break;
                case 0x85:
                case 0x86:
                case 0x87: {  // TUPLE1..3
                    auto t = make(PyObj::Kind::tuple);
                    const size_t n = op - 0x84u;
                    if (stack_.size() < n) fail("pickle stack underflow at byte " + std::to_string(at));
                    t->items.assign(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
                    stack_.resize(stack_.size() - n);
                    push(t);
                    break;
                }
                case 't':
                case 'l': {  // TUPLE, LIST from the mark
                    auto t = make(op == 't' ? PyObj::Kind::tuple : PyObj::Kind::list);
                    const size_t m = pop_mark();
                    t->items.assign(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
                    stack_.resize(m);
                    push(t);
                    break;
                }
                case ']': push(make(PyObj::Kind::list)); break;
                case 'a': {
                    PyRef v = pop();
                    container(PyObj::Kind::list, top())->items.push_back(v);
                    break;
                }
                case 'e': {
                    const size_t m = pop_mark();
                    if (m == 0) fail("pickle APPENDS without a list");
                    auto& list = container(PyObj::Kind::list, stack_[m - 1])->items;
                    list.insert(list.end(), stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
                    stack_.resize(m);
                    break;
                }
                case '}': push(make(PyObj::Kind::dict)); break;
                case 's': {
                    PyRef v = pop(), k = pop();
                    container(PyObj::Kind::dict, top())->entries.emplace_back(k, v);
                    break;
                }
                case 'u':
                case 'd': {  // SETITEMS onto the dict below the mark; DICT makes a new one
                    const size_t m = pop_mark();
                    if ((stack_.size() - m) % 2) fail("pickle dict items are not key/value pairs");
                    PyRef d = op == 'd' ? make(PyObj::Kind::dict) : nullptr;
                    if (!d) {
                        if (m == 0) fail("pickle SETITEMS without a dict");
                        d = container(PyObj::Kind::dict, stack_[m - 1]);
                    }
                    for (size_t k = m; k < stack_.size(); k += 2) d->entries.emplace_back(stack_[k], stack_[k + 1]);
                    stack_.resize(m);
                    if (op == 'd') push(d);
                    break;
                }
                case 'q': memo_[u8()] = top(); break;
                case 'r': memo_[le(4)] = top(); break;
                case 0x94: memo_[memo_.size()] = top(); break;  // MEMOIZE
                case 'h': push(memo(u8())); break;
                case 'j': push(memo(le(4))); break;
                case 'c': {
                    auto g = make(PyObj::Kind::global);
                    const std::string module = line();
                    g->s = module + "." + line();
                    push(g);
                    break;
                }
                case 0x93: {  // STACK_GLOBAL
                    PyRef name = pop(), module = pop();
                    if (name->kind != PyObj::Kind::string || module->kind != PyObj::Kind::string)
                        fail("pickle STACK_GLOBAL needs two strings");
                    auto g = make(PyObj::Kind::global);
                    g->s = module->s + "." + name->s;
                    push(g);
                    break;
                }
                case 'Q': push(storage(pop())); break;  // BINPERSID
                case 'R':
                case 0x81: {  // REDUCE, NEWOBJ
                    PyRef args = pop(), callable = pop();
                    push(reduce(callable, args));
                    break;
                }
                case 'b': {  // BUILD: a state dict's _metadata and the like; attributes are of no use here
                    pop();
                    if (top()->kind != PyObj::Kind::dict)
                        fail("pickle BUILD on a " + std::string(kind_name(top()->kind)));
                    break;
                }
                default: {
                    char hex[8];
                    std::snprintf(hex, sizeof hex, "0x%02x", op);
                    fail(std::string("unsupported pickle opcode ") + hex + " at byte " + std::to_string(at) +
                         " of data.pkl");
                }
            }
        }
    }

private:
    [[noreturn]] void fail(const std::string& message) const {
        throw_error(ErrorCode::format, place_, "torch.save file: " + message);
    }
    std::string take(size_t n) {
        if (n > data_.size() - pos_) fail("data.pkl is truncated");
        std::string s = data_.substr(pos_, n);
        pos_ += n;
        return s;
    }
    uint8_t u8() {
        if (pos_ >= data_.size()) fail("data.pkl is truncated");
        return static_cast<uint8_t>(data_[pos_++]);
    }
    uint64_t le(int n) {
        uint64_t v = 0;
        for (int k = 0; k < n; ++k) v |= static_cast<uint64_t>(u8()) << (8 * k);
        return v;
    }
    int64_t long1() {
        const int n = u8();
        if (n > 8) fail("integer wider than 64 bits");
        uint64_t v = le(n);
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend
        return static_cast<int64_t>(v);
    }
    std::string line() {
        const size_t nl = data_.find('\n', pos_);
        if (nl == std::string::npos) fail("data.pkl is truncated");
        std::string s = data_.substr(pos_, nl - pos_);
        pos_ = nl + 1;
        return s;
    }
    void push(PyRef v) { stack_.push_back(v); }
    void push_bool(bool b) {
        auto v = make(PyObj::Kind::boolean);
        v->i = b;
        push(v);
    }
    void push_int(int64_t i) {
        auto v = make(PyObj::Kind::integer);
        v->i = i;
        push(v);
    }
    void push_text(PyObj::Kind kind, uint64_t n) {
        if (n > data_.size() - pos_) fail("data.pkl is truncated");
        auto v = make(kind);
        v->s = take(n);
        push(v);
    }
    PyRef pop() {
        if (stack_.empty() || (!marks_.empty() && stack_.size() <= marks_.back())) fail("pickle stack underflow");
        PyRef v = stack_.back();
        stack_.pop_back();
        return v;
    }
    const PyRef& top() const {
        if (stack_.empty()) fail("pickle stack underflow");
        return stack_.back();
    }
    size_t pop_mark() {
        if (marks_.empty()) fail("pickle mark missing");
        const size_t m = marks_.back();
        marks_.pop_back();
        // TUPLE1..3 and POP_MARK may take items from below a later mark; what was marked is then gone.
        if (m > stack_.size()) fail("pickle mark above the stack");
        return m;
    }
    PyRef memo(uint64_t key) const {
        const auto it = memo_.find(key);
        if (it == memo_.end()) fail("pickle memo entry " + std::to_string(key) + " is missing");
        return it->second;
    }
    const PyRef& container(PyObj::Kind kind, const PyRef& v) const {
        if (v->kind != kind)
            fail(std::string("pickle expected a ") + kind_name(kind) + ", found a " + kind_name(v->kind));
        return v;
    }

    // ('storage', torch.<Type>Storage, key, location, numel) → the storage's key and type; weights.cpp reads the
    // record data/<key>. One storage may back several tensors (views).
    PyRef storage(const PyRef& pid) {
        if (pid->kind != PyObj::Kind::tuple || pid->items.size() < 3 || pid->items[0]->s != "storage" ||
            pid->items[1]->kind != PyObj::Kind::global || pid->items[2]->kind != PyObj::Kind::string)
            fail("unrecognised persistent id (not a torch storage)");
        const std::string& type = pid->items[1]->s;
        static const std::pair<const char*, StorageType> types[] = {
            {"torch.FloatStorage", StorageType::f32},     {"torch.HalfStorage", StorageType::f16},
            {"torch.BFloat16Storage", StorageType::bf16}, {"torch.DoubleStorage", StorageType::f64},
            {"torch.LongStorage", StorageType::i64},      {"torch.IntStorage", StorageType::i32},
            {"torch.ShortStorage", StorageType::i16},     {"torch.CharStorage", StorageType::i8},
            {"torch.ByteStorage", StorageType::u8},       {"torch.BoolStorage", StorageType::boolean},
        };
        const StorageType* found = nullptr;
        for (const auto& [name, t] : types)
            if (type == name) found = &t;
        if (!found) fail("unsupported storage type " + type);
        auto out = make(PyObj::Kind::storage);
        out->tensor.storage_key = pid->items[2]->s;
        out->tensor.storage_name = type;
        out->tensor.type = *found;
        return out;
    }

    std::vector<int64_t> ints(const PyRef& v, const char* what) const {
        if (v->kind != PyObj::Kind::tuple && v->kind != PyObj::Kind::list) fail(std::string(what) + " is not a tuple");
        std::vector<int64_t> out;
        for (const auto& x : v->items) {
            if (x->kind != PyObj::Kind::integer) fail(std::string(what) + " holds a non-integer");
            out.push_back(x->i);
        }
        return out;
    }

    PyRef reduce(const PyRef& callable, const PyRef& args) {
        if (callable->kind != PyObj::Kind::global || args->kind != PyObj::Kind::tuple)
            fail("pickle REDUCE without a class and an argument tuple");
        const std::string& name = callable->s;
        const auto& a = args->items;
        if (name == "collections.OrderedDict") {
            auto d = make(PyObj::Kind::dict);
            if (!a.empty() && a[0]->kind == PyObj::Kind::list)
                for (const auto& pair : a[0]->items)
                    if (pair->kind == PyObj::Kind::tuple && pair->items.size() == 2)
                        d->entries.emplace_back(pair->items[0], pair->items[1]);
            return d;
        }
        if (name == "torch._utils._rebuild_tensor_v2") {
            if (a.size() < 4 || a[0]->kind != PyObj::Kind::storage || a[1]->kind != PyObj::Kind::integer)
                fail("malformed _rebuild_tensor_v2 arguments");
            auto t = make(PyObj::Kind::tensor);
            t->tensor = a[0]->tensor;
            t->tensor.offset = a[1]->i;
            t->tensor.sizes = ints(a[2], "tensor size");
            t->tensor.strides = ints(a[3], "tensor stride");
            if (t->tensor.sizes.size() != t->tensor.strides.size()) fail("a tensor's size and stride differ in length");
            return t;
        }
        if (name == "torch._utils._rebuild_parameter" || name == "torch._utils._rebuild_parameter_with_state") {
            if (a.empty() || a[0]->kind != PyObj::Kind::tensor) fail("malformed " + name + " arguments");
            return a[0];
        }
        fail("cannot load a " + name + " object (dcar reads state dicts of tensors)");
    }

    const std::string& data_;
    size_t pos_ = 0;
    std::string place_;
    std::vector<std::unique_ptr<PyObj>> arena_;
    std::vector<PyRef> stack_;
    std::vector<size_t> marks_;
    std::map<uint64_t, PyRef> memo_;
};

// depth bounds the "state_dict" unwrapping: a pickle can make a dict that contains itself.
void collect_state_dict(const PyRef& value, const std::string& path, std::vector<std::pair<std::string, TensorRef>>& out,
                        int depth = 0) {
    if (value->kind != PyObj::Kind::dict)
        throw_error(ErrorCode::format, path,
                    std::string("torch.save file holds a ") + kind_name(value->kind) + ", not a state dict");
    for (const auto& [k, v] : value->entries)
        if (k->kind == PyObj::Kind::string && k->s == "state_dict" && v->kind == PyObj::Kind::dict) {
            if (depth >= 4) throw_error(ErrorCode::format, path, "torch.save \"state_dict\" wrappers nest too deeply");
            return collect_state_dict(v, path, out, depth + 1);
        }
    for (const auto& [k, v] : value->entries) {
        if (k->kind != PyObj::Kind::string)
            throw_error(ErrorCode::format, path, "torch.save state dict has a non-string key");
        if (v->kind != PyObj::Kind::tensor)
            throw_error(ErrorCode::format, path,
                        "torch.save entry '" + k->s + "' is a " + kind_name(v->kind) +
                            ", not a tensor (expected a state dict, or one under \"state_dict\")");
        out.emplace_back(k->s, v->tensor);
    }
}

}  // namespace

std::vector<std::pair<std::string, TensorRef>> read_state_dict(const std::string& pickle, const std::string& place) {
    Unpickler unpickler(pickle, place);
    std::vector<std::pair<std::string, TensorRef>> out;
    collect_state_dict(unpickler.run(), place, out);
    return out;
}

}  // namespace dcar::model::pickle
