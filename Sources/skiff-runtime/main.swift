print("skiff-runtime")
