"""OpenCV Haar cascade on the same frames: prints path<TAB>ms_per_frame<TAB>faces."""
import sys, time
import cv2

cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")
iters = int(sys.argv[1])
cv2.setNumThreads(2)
for path in sys.argv[2:]:
    img = cv2.imread(path)
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    # Same work as ours: colour to grey plus detection, with OpenCV's usual settings.
    found = cascade.detectMultiScale(gray, scaleFactor=1.1, minNeighbors=5, minSize=(40, 40))
    start = time.perf_counter()
    for _ in range(iters):
        g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        cascade.detectMultiScale(g, scaleFactor=1.1, minNeighbors=5, minSize=(40, 40))
    ms = (time.perf_counter() - start) * 1000 / iters
    print(f"{path}\t{ms:.1f}\t{len(found)}")
