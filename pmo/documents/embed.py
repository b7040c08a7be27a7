"""A document's Markdown with its charts inside, for places that cannot read the folder.

On disk the Markdown names each chart by file (`![Grid](APOLLO-...-grid.png)`) and the
.docx embeds it. A Prefect artifact is shown by the UI, which cannot reach that folder, so
the artifact carries each chart as a `data:` URI instead.
"""

import base64
import re
from pathlib import Path
from urllib.parse import unquote

# An image whose target is a bare file name: what `Charts` writes. Typed text cannot
# produce one, because the template escapes its `!`, `[` and `]`.
_LOCAL_IMAGE = re.compile(r"(!\[[^\]\n]*\]\()([A-Za-z0-9._%-]+\.png)(\))")


def with_embedded_images(markdown: str, images_dir: Path) -> str:
    """`markdown` with each PNG it names from `images_dir` turned into a `data:` URI."""

    def embed(match: re.Match[str]) -> str:
        path = images_dir / unquote(match[2])
        if path.parent != images_dir or not path.is_file():
            return match[0]
        encoded = base64.b64encode(path.read_bytes()).decode("ascii")
        return f"{match[1]}data:image/png;base64,{encoded}{match[3]}"

    return _LOCAL_IMAGE.sub(embed, markdown)
