"""Gateway products behind one boundary; each lives in its own subpackage."""
