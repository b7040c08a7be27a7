"""Documents: Markdown (rendered through `pmo.templating`) becomes a Word .docx, with charts,
a header on every page and the PMO's reference styles."""
