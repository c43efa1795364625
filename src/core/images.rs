//! Resized variants of uploaded images: the `ImageSize` configurations of
//! UploadImage's `upload_sizes` and of the `w`, `h`, `resize`, `crop` query
//! parameters of a served image, checked, and applied with the `image`
//! crate (PNG, JPEG, GIF and WebP; other accepted images are stored as sent
//! and not resized).
//!
//! Decoding is bounded (`decode_limits`): an image whose header claims more
//! pixels or memory than the limits is refused with a 400 before its pixels
//! are allocated, so a decompression bomb costs nothing. A JPEG stays a
//! JPEG; anything else becomes a PNG (an animated GIF its first frame).

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, ImageReader, Limits, Rgba, RgbaImage};
use serde::{Deserialize, Serialize};

use super::error::{Error, Result};

/// The most sizes one upload may ask for.
pub const MAX_UPLOAD_SIZES: usize = 10;
/// The largest width or height of a variant.
pub const MAX_DIMENSION: u32 = 4096;
/// The largest width or height of an image that is decoded for resizing.
pub const MAX_SOURCE_DIMENSION: u32 = 12_000;
/// The most memory the decoder of one image may allocate.
pub const MAX_DECODE_BYTES: u64 = 192 * 1024 * 1024;

/// How a variant fits its box.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resize {
    /// Fits inside the box, keeping the aspect ratio.
    Clip,
    /// Fills the box, keeping the aspect ratio; what overflows is cut off
    /// at the `crop` side.
    Crop,
    /// Stretched to exactly the box.
    Scale,
    /// Fits inside the box, keeping the aspect ratio, and is padded to
    /// exactly the box (transparent, or white for a JPEG), placed by `crop`.
    Fill,
}

/// Which part of an image `Resize::Crop` keeps (and where `Resize::Fill`
/// places it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Crop {
    Top,
    Bottom,
    Left,
    Right,
    Center,
}

impl Resize {
    pub fn as_str(self) -> &'static str {
        match self {
            Resize::Clip => "clip",
            Resize::Crop => "crop",
            Resize::Scale => "scale",
            Resize::Fill => "fill",
        }
    }

    fn parse(text: &str) -> Option<Resize> {
        [Resize::Clip, Resize::Crop, Resize::Scale, Resize::Fill].into_iter().find(|r| r.as_str() == text)
    }
}

impl Crop {
    pub fn as_str(self) -> &'static str {
        match self {
            Crop::Top => "top",
            Crop::Bottom => "bottom",
            Crop::Left => "left",
            Crop::Right => "right",
            Crop::Center => "center",
        }
    }

    fn parse(text: &str) -> Option<Crop> {
        [Crop::Top, Crop::Bottom, Crop::Left, Crop::Right, Crop::Center].into_iter().find(|c| c.as_str() == text)
    }
}

/// One checked size: a box of `width` × `height` (either may be left out,
/// and follows from the other by the image's aspect ratio), a resize mode
/// (`clip` unless given) and a crop anchor (`center` unless given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImageSize {
    pub crop: Crop,
    pub resize: Resize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

/// An `ImageSize` as sent, before it is checked.
#[derive(Debug, Default, Deserialize)]
pub struct ImageSizeInput {
    #[serde(default)]
    pub crop: Option<String>,
    #[serde(default)]
    pub resize: Option<String>,
    #[serde(default)]
    pub width: Option<i64>,
    #[serde(default)]
    pub height: Option<i64>,
}

/// The field names an `ImageSize`'s parts are reported under: the
/// `upload_sizes[i].…` of a form, or the query parameters of a URL.
pub struct SizeFields {
    pub crop: String,
    pub resize: String,
    pub width: String,
    pub height: String,
}

impl SizeFields {
    pub fn upload_sizes(i: usize) -> SizeFields {
        let f = |name: &str| format!("upload_sizes[{i}].{name}");
        SizeFields { crop: f("crop"), resize: f("resize"), width: f("width"), height: f("height") }
    }

    pub fn query() -> SizeFields {
        SizeFields { crop: "crop".into(), resize: "resize".into(), width: "w".into(), height: "h".into() }
    }
}

impl ImageSizeInput {
    pub fn check(&self, fields: &SizeFields) -> Result<ImageSize> {
        let dimension = |value: Option<i64>, field: &str| -> Result<Option<u32>> {
            match value {
                None => Ok(None),
                Some(v) if (1..=i64::from(MAX_DIMENSION)).contains(&v) => Ok(Some(v as u32)),
                Some(v) => Err(Error::field(field, format!("{field} must be from 1 to {MAX_DIMENSION}, not {v}"))),
            }
        };
        let width = dimension(self.width, &fields.width)?;
        let height = dimension(self.height, &fields.height)?;
        if width.is_none() && height.is_none() {
            return Err(Error::field(&fields.width, format!("{} or {} is required", fields.width, fields.height)));
        }
        let resize = match self.resize.as_deref().filter(|r| !r.is_empty()) {
            None => Resize::Clip,
            Some(r) => Resize::parse(r).ok_or_else(|| {
                Error::field(
                    &fields.resize,
                    format!("{} must be one of clip, crop, scale, fill, not {r:?}", fields.resize),
                )
            })?,
        };
        let crop = match self.crop.as_deref().filter(|c| !c.is_empty()) {
            None => Crop::Center,
            Some(c) => Crop::parse(c).ok_or_else(|| {
                Error::field(
                    &fields.crop,
                    format!("{} must be one of top, bottom, left, right, center, not {c:?}", fields.crop),
                )
            })?,
        };
        Ok(ImageSize { crop, resize, width, height })
    }
}

/// Checks UploadImage's `upload_sizes`: at most `MAX_UPLOAD_SIZES`, each
/// valid; a size asked for twice is made once.
pub fn check_upload_sizes(sizes: &[ImageSizeInput]) -> Result<Vec<ImageSize>> {
    if sizes.len() > MAX_UPLOAD_SIZES {
        return Err(Error::field(
            "upload_sizes",
            format!("upload_sizes may hold at most {MAX_UPLOAD_SIZES} sizes, not {}", sizes.len()),
        ));
    }
    let mut checked: Vec<ImageSize> = Vec::with_capacity(sizes.len());
    for (i, size) in sizes.iter().enumerate() {
        let size = size.check(&SizeFields::upload_sizes(i))?;
        if !checked.contains(&size) {
            checked.push(size);
        }
    }
    Ok(checked)
}

impl ImageSize {
    /// The name part of the key its variant of `key` is stored under,
    /// beside the original: `<w>x<h>-<resize>-<crop>-<name>` (0 for a
    /// dimension left out).
    pub fn variant_key(&self, key: &str) -> String {
        let (token, name) = key.split_once('/').unwrap_or(("", key));
        format!(
            "{token}/{}x{}-{}-{}-{name}",
            self.width.unwrap_or(0),
            self.height.unwrap_or(0),
            self.resize.as_str(),
            self.crop.as_str()
        )
    }

    /// The query string that asks for this size on a served image's URL.
    pub fn query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(w) = self.width {
            parts.push(format!("w={w}"));
        }
        if let Some(h) = self.height {
            parts.push(format!("h={h}"));
        }
        parts.push(format!("resize={}", self.resize.as_str()));
        parts.push(format!("crop={}", self.crop.as_str()));
        parts.join("&")
    }

    /// The area of the box, for choosing the smallest variant as thumbnail
    /// (a dimension left out counts as the other).
    pub fn area(&self) -> u64 {
        let w = self.width.or(self.height).unwrap_or(0);
        let h = self.height.or(self.width).unwrap_or(0);
        u64::from(w) * u64::from(h)
    }
}

/// The formats resized here, by the type `uploads::image_type` names.
pub fn resizable(content_type: &str) -> bool {
    matches!(content_type, "image/png" | "image/jpeg" | "image/gif" | "image/webp")
}

/// The limits every decode runs under.
pub fn decode_limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SOURCE_DIMENSION);
    limits.max_image_height = Some(MAX_SOURCE_DIMENSION);
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    limits
}

/// A decoded image and the format it came in.
pub struct Decoded {
    image: DynamicImage,
    format: ImageFormat,
}

/// Decodes `bytes` under `decode_limits`. An image that is damaged, of a
/// format not resized here, or too large is a 400 naming `field`.
pub fn decode(bytes: &[u8], field: &str) -> Result<Decoded> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| Error::field(field, format!("the image could not be read: {e}")))?;
    let format = match reader.format() {
        Some(f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP)) => f,
        _ => return Err(Error::field(field, "only PNG, JPEG, GIF and WebP images can be resized")),
    };
    reader.limits(decode_limits());
    let image = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => Error::field(
            field,
            format!(
                "the image is too large to resize: at most {MAX_SOURCE_DIMENSION}×{MAX_SOURCE_DIMENSION} pixels \
                 and {MAX_DECODE_BYTES} bytes decoded"
            ),
        ),
        e => Error::field(field, format!("the image could not be decoded: {e}")),
    })?;
    Ok(Decoded { image, format })
}

/// Where a run of `extra` spare pixels puts the start, by anchor: at the
/// start, the middle or the end of the axis.
fn offset(extra: u32, start: bool, end: bool) -> u32 {
    if start {
        0
    } else if end {
        extra
    } else {
        extra / 2
    }
}

impl Decoded {
    pub fn dimensions(&self) -> (u32, u32) {
        (self.image.width(), self.image.height())
    }

    /// The variant of `size`, encoded, and its content type.
    pub fn variant(&self, size: &ImageSize) -> Result<(Vec<u8>, &'static str)> {
        let resized = self.resize(size);
        let (format, content_type) = match self.format {
            ImageFormat::Jpeg => (ImageFormat::Jpeg, "image/jpeg"),
            _ => (ImageFormat::Png, "image/png"),
        };
        let mut out = Cursor::new(Vec::new());
        let written = match format {
            ImageFormat::Jpeg => DynamicImage::ImageRgb8(resized.to_rgb8()).write_to(&mut out, format),
            _ => resized.write_to(&mut out, format),
        };
        written.map_err(|e| Error::internal(format!("encoding a resized image: {e}")))?;
        Ok((out.into_inner(), content_type))
    }

    fn resize(&self, size: &ImageSize) -> DynamicImage {
        let (w, h) = self.dimensions();
        let (w, h) = (w.max(1), h.max(1));
        // A dimension left out follows from the other by the aspect ratio.
        let scaled =
            |a: u32, b: u32, by: u32| ((u64::from(a) * u64::from(by) + u64::from(b) / 2) / u64::from(b)) as u32;
        let bw = size.width.unwrap_or_else(|| scaled(w, h, size.height.unwrap_or(1)).clamp(1, MAX_DIMENSION));
        let bh = size.height.unwrap_or_else(|| scaled(h, w, size.width.unwrap_or(1)).clamp(1, MAX_DIMENSION));
        let (horizontal, vertical) =
            ((size.crop == Crop::Left, size.crop == Crop::Right), (size.crop == Crop::Top, size.crop == Crop::Bottom));
        // Fits (w, h) inside the box keeping its aspect ratio.
        let fit = || {
            if u64::from(w) * u64::from(bh) >= u64::from(h) * u64::from(bw) {
                (bw, scaled(h, w, bw).clamp(1, bh))
            } else {
                (scaled(w, h, bh).clamp(1, bw), bh)
            }
        };
        let filter = FilterType::Triangle;
        match size.resize {
            Resize::Scale => self.image.resize_exact(bw, bh, filter),
            Resize::Clip => {
                let (fw, fh) = fit();
                self.image.resize_exact(fw, fh, filter)
            }
            Resize::Crop => {
                // The largest part of the source with the box's aspect
                // ratio, at the anchor, then scaled to the box: nothing
                // larger than the source or the box is ever made.
                let (cw, ch) = if u64::from(w) * u64::from(bh) >= u64::from(h) * u64::from(bw) {
                    (scaled(bw, bh, h).clamp(1, w), h)
                } else {
                    (w, scaled(bh, bw, w).clamp(1, h))
                };
                let x = offset(w - cw, horizontal.0, horizontal.1);
                let y = offset(h - ch, vertical.0, vertical.1);
                self.image.crop_imm(x, y, cw, ch).resize_exact(bw, bh, filter)
            }
            Resize::Fill => {
                let (fw, fh) = fit();
                let inner = self.image.resize_exact(fw, fh, filter).to_rgba8();
                let pad =
                    if self.format == ImageFormat::Jpeg { Rgba([255, 255, 255, 255]) } else { Rgba([0, 0, 0, 0]) };
                let mut canvas = RgbaImage::from_pixel(bw, bh, pad);
                let x = offset(bw - fw, horizontal.0, horizontal.1);
                let y = offset(bh - fh, vertical.0, vertical.1);
                image::imageops::replace(&mut canvas, &inner, i64::from(x), i64::from(y));
                DynamicImage::ImageRgba8(canvas)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img =
            RgbaImage::from_fn(w, h, |x, _| if x < w / 2 { Rgba([255, 0, 0, 255]) } else { Rgba([0, 0, 255, 255]) });
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgba8(img).write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    fn size(w: Option<u32>, h: Option<u32>, resize: Resize, crop: Crop) -> ImageSize {
        ImageSize { crop, resize, width: w, height: h }
    }

    fn dims(bytes: &[u8]) -> (u32, u32) {
        let img = image::load_from_memory(bytes).unwrap();
        (img.width(), img.height())
    }

    #[test]
    fn each_mode_gives_its_dimensions() {
        let d = decode(&png(200, 100), "file").unwrap();
        let cases = [
            (size(Some(50), Some(50), Resize::Clip, Crop::Center), (50, 25)),
            (size(Some(50), Some(50), Resize::Scale, Crop::Center), (50, 50)),
            (size(Some(50), Some(50), Resize::Crop, Crop::Left), (50, 50)),
            (size(Some(50), Some(50), Resize::Fill, Crop::Top), (50, 50)),
            (size(Some(100), None, Resize::Clip, Crop::Center), (100, 50)),
            (size(None, Some(10), Resize::Scale, Crop::Center), (20, 10)),
            (size(Some(4096), Some(1), Resize::Crop, Crop::Center), (4096, 1)),
        ];
        for (s, want) in cases {
            let (bytes, ty) = d.variant(&s).unwrap();
            assert_eq!(ty, "image/png");
            assert_eq!(dims(&bytes), want, "{s:?}");
        }
        // Crop keeps the anchor's side: the left of a red|blue image is red.
        let (bytes, _) = d.variant(&size(Some(10), Some(10), Resize::Crop, Crop::Left)).unwrap();
        assert_eq!(image::load_from_memory(&bytes).unwrap().to_rgba8().get_pixel(9, 5)[0], 255);
        let (bytes, _) = d.variant(&size(Some(10), Some(10), Resize::Crop, Crop::Right)).unwrap();
        assert_eq!(image::load_from_memory(&bytes).unwrap().to_rgba8().get_pixel(0, 5)[2], 255);
        // Fill pads with transparency around the fitted image.
        let (bytes, _) = d.variant(&size(Some(50), Some(50), Resize::Fill, Crop::Top)).unwrap();
        let filled = image::load_from_memory(&bytes).unwrap().to_rgba8();
        assert_eq!(filled.get_pixel(0, 0)[3], 255);
        assert_eq!(filled.get_pixel(0, 49)[3], 0);
    }

    #[test]
    fn sizes_are_checked() {
        let input = |w: Option<i64>, h: Option<i64>, r: &str, c: &str| ImageSizeInput {
            width: w,
            height: h,
            resize: Some(r.into()),
            crop: Some(c.into()),
        };
        let fields = SizeFields::upload_sizes(0);
        assert!(input(Some(1), Some(4096), "fill", "top").check(&fields).is_ok());
        for (bad, field) in [
            (input(Some(0), Some(10), "clip", "top"), "upload_sizes[0].width"),
            (input(Some(10), Some(4097), "clip", "top"), "upload_sizes[0].height"),
            (input(None, None, "clip", "top"), "upload_sizes[0].width"),
            (input(Some(10), Some(10), "stretch", "top"), "upload_sizes[0].resize"),
            (input(Some(10), Some(10), "clip", "middle"), "upload_sizes[0].crop"),
        ] {
            let e = bad.check(&fields).unwrap_err();
            assert!(e.fields.contains_key(field), "{field}: {e:?}");
        }
        let many: Vec<ImageSizeInput> =
            (0..11).map(|i| ImageSizeInput { width: Some(i + 1), ..Default::default() }).collect();
        assert!(check_upload_sizes(&many).is_err());
        let twice = [input(Some(5), Some(5), "", ""), input(Some(5), Some(5), "clip", "center")];
        assert_eq!(check_upload_sizes(&twice).unwrap().len(), 1);
    }

    #[test]
    fn a_decompression_bomb_is_refused_before_its_pixels_are_made() {
        // A valid PNG header claiming 60000×60000 pixels.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&60000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&60000u32.to_be_bytes());
        let e = decode(&bomb, "file").err().expect("refused");
        assert!(e.message.contains("too large") || e.message.contains("decoded"), "{e:?}");
    }
}
