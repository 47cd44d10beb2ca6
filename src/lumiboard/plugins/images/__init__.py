"""The ``images`` plugin: images, image grids, boxes, figures and GIF videos."""
