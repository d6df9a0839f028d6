#!/usr/bin/python3
"""Where text→image R@1 is lost: among the images of a caption's own class, or to images of other classes.
  within_class.py IMAGES.npy TEXTS.npy
Both are .npy arrays with .ids sidecars (dcar-cat -F npy -o), one caption per image: the caption id is
'<image id>#<j>' and both sidecars carry the class as the label. For each caption the images scored above its own
image are counted, split by class. Prints TSV:
  within_class_r1   % of captions whose image is first among the images of its class (chance: 1 / class size)
  same_class_above  mean number of images of the caption's class ranked above its image
  other_class_above mean number of images of other classes ranked above its image
  r1                % of captions whose image is first overall (dcar-score's t2i R@1)
"""
import sys

import numpy as np

from probe import load_rows


def main(image_path, text_path):
    images, image_ids, _, image_classes = load_rows(image_path)
    texts, text_items, _, text_classes = load_rows(text_path)
    image_row = {image_id: i for i, image_id in enumerate(image_ids)}
    own = np.array([image_row[item] for item in text_items])
    scores = texts @ images.T
    above = scores > scores[np.arange(len(own)), own][:, None]
    same_class = text_classes[:, None] == image_classes[None, :]
    same_above = (above & same_class).sum(axis=1)
    other_above = (above & ~same_class).sum(axis=1)
    print(f"within_class_r1\t{100 * np.mean(same_above == 0):.1f}")
    print(f"same_class_above\t{same_above.mean():.2f}")
    print(f"other_class_above\t{other_above.mean():.1f}")
    print(f"r1\t{100 * np.mean(same_above + other_above == 0):.1f}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
