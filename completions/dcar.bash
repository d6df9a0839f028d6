# bash completion for the dcar tools: dcar-cat, dcar-embed, dcar-index, dcar-mine-negatives, dcar-query, dcar-score,
# dcar-tune, dcar-weigh, dcar-world.
#
# Install as .../bash-completion/completions/dcar with one symbolic link per tool name (the CMake install
# does this), or source it from ~/.bashrc. The option lists are static, copied from each tool's
# --dump-options (tests/cli/usage.sh checks that none is missing), so completing never runs a tool.

# Options per tool (and per dcar-index command), long and short forms.
_dcar_common_options='-h --help -V --version -q --quiet --progress --progress -t --threads'
_dcar_cat_options='-H --header -c --count -F --format --ids-only --dtype --normalize --level --ids --ids-out --modality -o --output --force'
_dcar_index_build_options='-o --output -f --factory --train-sample --train-only --seed --ids --strict'
_dcar_index_add_options='-o --output --shard --ids --strict'
_dcar_index_merge_options='-o --output --ondisk'
_dcar_index_info_options='--json'
_dcar_query_options='-i --index -g --gallery -k --nprobe --ef --chunk -F --format --ids -o --output'
_dcar_score_options='--images --texts --manifest --by-label -k --recall-at --dataset --model --pretrained --language --json --per-class --plot --chunk-size -o --output --strict'
_dcar_archs='ViT-B-32 ViT-B-32-quickgelu ViT-B-16 ViT-B-16-quickgelu ViT-B-16-plus-240 ViT-B-16-plus-240-quickgelu ViT-L-14 ViT-L-14-quickgelu ViT-L-14-336 ViT-L-14-336-quickgelu ViT-H-14 ViT-H-14-quickgelu ViT-g-14 ViT-g-14-quickgelu ViT-bigG-14 ViT-bigG-14-quickgelu openai open_clip'
_dcar_embed_options='-m --model --folder --manifest --webdataset --wds-image-key --wds-caption-key --wds-label-key --text --image-root --layout -F --format --ids-out --store --no-normalize --device --dtype -b --batch --decode-threads --arch --vision-heads --text-heads --vocab --no-truncate --max-pixels --no-shrink-on-load --rejects --stats --on-error --shard --resume --part-size --prompts --token-weights -o --output --force'
_dcar_world_options='--world-version --seed --size --families --base-per-family --novel-per-family --pretrain-per-class --pretrain-per-novel --train-per-class --test-per-class --mention-class --mention-nuisance --filler --pretrain-mention-class --pretrain-mention-nuisance --pretrain-mention-name --pretrain-silhouette --pretrain-without-parts --pretrain-random-attributes --pretrain-filler --pretrain-category --quality --no-pretrain-images --force'
_dcar_index_commands='build add merge info help'

# Options that take a value, per tool; everything else is a flag.
_dcar_cat_valued='-F --format --dtype --level --ids --ids-out --modality -o --output --progress -t --threads'
_dcar_index_build_valued='-o --output -f --factory --train-sample --seed --ids --progress -t --threads'
_dcar_index_add_valued='-o --output --shard --ids --progress -t --threads'
_dcar_index_merge_valued='-o --output --progress -t --threads'
_dcar_index_info_valued='-t --threads'
_dcar_query_valued='-i --index -g --gallery -k --nprobe --ef --chunk -F --format --ids -o --output --progress -t --threads'
_dcar_score_valued='--images --texts --manifest -k --recall-at --dataset --model --pretrained --language --plot --chunk-size -o --output --progress -t --threads'
_dcar_negatives_options='--swaps --attributes --attribute-swaps --attribute-lexicon --hard-swap-p --hard-pool --swaps-within-category --class-embeddings --alpha --keep-released --shots --val-fraction --val-output --seed --image-root --layout --strict -o --output'
_dcar_negatives_valued='--swaps --attributes --attribute-swaps --attribute-lexicon --hard-swap-p --hard-pool --class-embeddings --alpha --shots --val-fraction --val-output --seed --image-root --layout -o --output --progress -t --threads'
_dcar_world_valued='--world-version --seed --size --families --base-per-family --novel-per-family --pretrain-per-class --pretrain-per-novel --train-per-class --test-per-class --mention-class --mention-nuisance --filler --pretrain-mention-class --pretrain-mention-nuisance --pretrain-mention-name --pretrain-silhouette --pretrain-without-parts --pretrain-random-attributes --pretrain-filler --pretrain-category --quality --progress -t --threads'
_dcar_embed_valued='-m --model --wds-image-key --wds-caption-key --wds-label-key --image-root --layout -F --format --ids-out --store --device --dtype -b --batch --decode-threads --arch --vision-heads --text-heads --vocab --max-pixels --rejects --stats --on-error --shard --part-size --prompts --token-weights -o --output --progress -t --threads'
_dcar_tune_options='--method -m --model --init-size -o --output --resume --image-root --layout --prompt-length --prompt-depth --visual-prompts --no-text-prompts --visual-init --prompt-init --con-mode --lambda --alpha --cate-form --caa --caa-hidden --caa-ratio --candidates --cate-in-batch --dtr --dtr-infer --w-min --w-max --ema --blank --weight-table --optimizer --lr --momentum --weight-decay --warmup-epochs --warmup-steps --warmup --warmup-lr --epochs -b --batch --shots --hard-batches --hard-batch-share --no-augment --augment --crop-min --val-fraction --val --seed --device --dtype --arch --vision-heads --text-heads --vocab --decode-threads --max-steps --step-log'
_dcar_tune_valued='--method -m --model --init-size -o --output --image-root --layout --prompt-length --prompt-depth --visual-prompts --visual-init --prompt-init --con-mode --lambda --alpha --cate-form --caa --caa-hidden --caa-ratio --candidates --dtr --dtr-infer --w-min --w-max --ema --blank --weight-table --optimizer --lr --momentum --weight-decay --warmup-epochs --warmup-steps --warmup --warmup-lr --epochs -b --batch --hard-batch-share --shots --crop-min --val-fraction --val --seed --device --dtype --arch --vision-heads --text-heads --vocab --decode-threads --max-steps --step-log --progress -t --threads'
_dcar_weigh_options='-m --model --prompts -o --output --explain --table --image --image-root --layout --w-min --w-max --ema --blank -b --batch --decode-threads --device --dtype --arch --vision-heads --text-heads --vocab'
_dcar_weigh_valued='-m --model --prompts -o --output --explain --table --image --image-root --layout --w-min --w-max --ema --blank -b --batch --decode-threads --device --dtype --arch --vision-heads --text-heads --vocab --progress -t --threads'

# Path rules of FDRD manifests (dcar-embed --layout).
_dcar_layouts='auto caltech101 cars dtd ucf101 pets aircraft flowers as-is'

# Some FAISS factory strings to start from; any other string is accepted too.
_dcar_factories='Flat HNSW32 HNSW64 IVF1024,Flat IVF4096,Flat IVF16384,Flat IVF65536,Flat IVF4096,PQ64 OPQ64,IVF4096,PQ64 IVF4096,SQ8'

_dcar_words() {  # _dcar_words WORDS...: complete $cur from a word list
    local IFS=$' \t\n'
    COMPREPLY=($(compgen -W "$*" -- "$cur"))
}

_dcar_files() {  # file names (directories included)
    if declare -F _filedir >/dev/null 2>&1; then
        _filedir
    else
        compopt -o filenames 2>/dev/null
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}

_dcar_dirs() {  # directory names
    if declare -F _filedir >/dev/null 2>&1; then
        _filedir -d
    else
        compopt -o filenames 2>/dev/null
        local IFS=$'\n'
        COMPREPLY=($(compgen -d -- "$cur"))
    fi
}

_dcar_has_word() {  # _dcar_has_word WORD LIST...
    local word=$1 w
    shift
    for w in $*; do [[ $w == "$word" ]] && return 0; done
    return 1
}

_dcar() {
    local cur prev tool command='' key
    local -a words=("${COMP_WORDS[@]}")
    local cword=$COMP_CWORD
    cur=${words[cword]}
    prev=${words[cword-1]}
    tool=${words[0]##*/}

    # --option=value, whether or not COMP_WORDBREAKS splits at '='.
    local joined=''
    if [[ $cur == --*=* ]]; then
        prev=${cur%%=*}
        cur=${cur#*=}
        joined=$prev=
    elif [[ $cur == = && $prev == --* ]]; then
        cur=''
    elif [[ $prev == = && $cword -ge 2 && ${words[cword-2]} == --* ]]; then
        prev=${words[cword-2]}
    fi

    case $tool in
        dcar-cat) key=cat ;;
        dcar-embed) key=embed ;;
        dcar-mine-negatives) key=negatives ;;
        dcar-query) key=query ;;
        dcar-score) key=score ;;
        dcar-world) key=world ;;
        dcar-tune) key=tune ;;
        dcar-weigh) key=weigh ;;
        dcar-index)
            # The command is the first word after the tool name.
            if [[ $cword -eq 1 ]]; then
                if [[ $cur == -* ]]; then _dcar_words --help --version; else _dcar_words $_dcar_index_commands; fi
                return 0
            fi
            command=${words[1]}
            if [[ $command == help ]]; then
                [[ $cword -eq 2 ]] && _dcar_words build add merge info
                return 0
            fi
            _dcar_has_word "$command" build add merge info || return 0
            key=index_$command
            ;;
        *) return 0 ;;
    esac

    local valued_var=_dcar_${key}_valued options_var=_dcar_${key}_options
    if _dcar_has_word "$prev" ${!valued_var}; then
        case $tool:$command:$prev in
            *:--progress) _dcar_words auto always never ;;
            dcar-cat::-F | dcar-cat::--format) _dcar_words tsv jsonl dcs npy ;;
            dcar-cat::--dtype) _dcar_words f32 f16 ;;
            dcar-cat::--modality) _dcar_words image text unknown ;;
            dcar-cat::--level) _dcar_words 1 3 6 9 12 15 19 ;;
            dcar-query::-F | dcar-query::--format) _dcar_words tsv jsonl ;;
            dcar-index:build:-f | dcar-index:build:--factory) _dcar_words $_dcar_factories ;;
            dcar-embed::-m | dcar-embed::--model | dcar-embed::--vocab) _dcar_files ;;  # before the name-only --model below
            dcar-embed::-F | dcar-embed::--format) _dcar_words dcs npy ;;
            dcar-mine-negatives::--class-embeddings | dcar-mine-negatives::--attribute-lexicon | dcar-mine-negatives::-o | dcar-mine-negatives::--output | dcar-mine-negatives::--val-output) _dcar_files ;;
            dcar-mine-negatives::--layout) _dcar_words $_dcar_layouts ;;
            dcar-mine-negatives::--image-root) _dcar_dirs ;;
            dcar-embed::--store) _dcar_words f32 f16 ;;
            dcar-embed::--device) _dcar_words cpu cuda auto ;;
            dcar-embed::--dtype) _dcar_words fp32 bf16 fp16 ;;
            dcar-embed::--arch | dcar-tune::--arch | dcar-weigh::--arch) _dcar_words $_dcar_archs ;;
            dcar-embed::--on-error) _dcar_words skip fail ;;
            dcar-embed::--layout) _dcar_words $_dcar_layouts ;;
            dcar-embed::--image-root) _dcar_dirs ;;
            dcar-embed::-b | dcar-embed::--batch | dcar-embed::--decode-threads | dcar-embed::--vision-heads | \
                dcar-embed::--text-heads | dcar-embed::--max-pixels | dcar-embed::--shard | dcar-embed::--part-size)
                COMPREPLY=() ;;  # a number, or i/N
            dcar-score::-k | dcar-score::--recall-at) _dcar_words 1,5,10 1,5,10,50 ;;
            dcar-embed::--token-weights) _dcar_words auto table none ;;
            dcar-tune::--method) _dcar_words coop vpt maple dcar full ;;
            dcar-tune::--visual-prompts) _dcar_words none coupled independent ;;
            dcar-tune::--visual-init) _dcar_words normal xavier ;;
            dcar-tune::--con-mode) _dcar_words sym i2t ;;
            dcar-tune::--cate-form) _dcar_words denominator per-term logit ;;
            dcar-tune::--caa) _dcar_words adapter identity ;;
            dcar-tune::--dtr) _dcar_words pair table none ;;
            dcar-tune::--dtr-infer) _dcar_words table none ;;
            dcar-tune::--optimizer) _dcar_words sgd adamw ;;
            dcar-tune::--warmup) _dcar_words constant linear ;;
            dcar-world::--pretrain-category) _dcar_words family silhouette ;;
            dcar-tune::--blank | dcar-weigh::--blank) _dcar_words mean white black noise ;;
            dcar-tune::--device | dcar-weigh::--device) _dcar_words cpu cuda auto ;;
            dcar-tune::--dtype) _dcar_words auto fp32 bf16 fp16 ;;
            dcar-weigh::--dtype) _dcar_words fp32 bf16 fp16 ;;
            dcar-tune::--layout | dcar-weigh::--layout) _dcar_words $_dcar_layouts ;;
            dcar-tune::-o | dcar-tune::--output | dcar-tune::--image-root | dcar-weigh::--image-root | dcar-weigh::--prompts | \
                dcar-embed::--prompts)
                _dcar_dirs ;;
            dcar-tune::-m | dcar-tune::--model | dcar-tune::--weight-table | dcar-tune::--vocab | dcar-tune::--step-log | dcar-tune::--val | \
                dcar-weigh::-m | dcar-weigh::--model | dcar-weigh::-o | dcar-weigh::--output | dcar-weigh::--table | \
                dcar-weigh::--image | dcar-weigh::--vocab)
                _dcar_files ;;
            dcar-tune::* | dcar-weigh::*) COMPREPLY=() ;;  # numbers, sizes, texts
            dcar-world::--size) _dcar_words 32 64 96 128 ;;
            dcar-world::*) COMPREPLY=() ;;  # counts, probabilities, the seed
            *:-t | *:--threads | *:-k | *:--nprobe | *:--ef | *:--chunk | *:--chunk-size | *:--train-sample | *:--seed | \
                *:--dataset | *:--model | *:--pretrained | *:--language)
                COMPREPLY=() ;;  # a number or a name: nothing to offer
            *) _dcar_files ;;    # --output, --ids, --index, --gallery, --images, --manifest, ...
        esac
        # The word still holds "--option=": the candidates must too.
        if [[ -n $joined ]]; then
            local i
            for i in "${!COMPREPLY[@]}"; do COMPREPLY[i]=$joined${COMPREPLY[i]}; done
        fi
        return 0
    fi

    if [[ $cur == -* ]]; then
        _dcar_words ${!options_var} $_dcar_common_options
        return 0
    fi
    # Operands: embedding files, index files or shards. dcar-score takes none; dcar-embed takes an image list,
    # a manifest or captions, or with --folder a directory.
    [[ $tool == dcar-score ]] && return 0
    if [[ $tool == dcar-world ]]; then
        _dcar_dirs
        return 0
    fi
    if [[ $tool == dcar-embed ]] && _dcar_has_word --folder "${words[@]:1:cword-1}"; then
        _dcar_dirs
        return 0
    fi
    _dcar_files
    return 0
}

complete -F _dcar dcar-cat dcar-embed dcar-index dcar-mine-negatives dcar-query dcar-score dcar-tune dcar-weigh dcar-world
