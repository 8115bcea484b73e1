// camsim library
