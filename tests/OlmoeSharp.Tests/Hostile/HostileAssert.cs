namespace OlmoeSharp.Tests.Hostile;

/// <summary>The assertion every hostile test ends with: the load fails with a typed error that names the culprit.</summary>
internal static class HostileAssert
{
    /// <summary>
    /// Loading fails with a <see cref="ModelFormatException"/> against <paramref name="fileName"/> whose message names
    /// the file and the tensor or field <paramref name="item"/> (null: the file as a whole is at fault).
    /// </summary>
    public static ModelFormatException Rejects(HostileCheckpoint checkpoint, string fileName, string? item)
    {
        var error = RejectsFile(checkpoint, fileName);
        Assert.Equal(item, error.Item);
        if (item is not null) Assert.Contains($"'{item}'", error.Message);
        return error;
    }

    /// <summary>
    /// Loading fails with a <see cref="ModelFormatException"/> against <paramref name="fileName"/> that names a tensor
    /// (which one depends on where the damage is first noticed).
    /// </summary>
    public static ModelFormatException RejectsNamingATensor(HostileCheckpoint checkpoint, string fileName)
    {
        var error = RejectsFile(checkpoint, fileName);
        Assert.False(string.IsNullOrEmpty(error.Item), $"no tensor named in: {error.Message}");
        Assert.Contains($"'{error.Item}'", error.Message);
        return error;
    }

    /// <summary>Loading fails with a <see cref="ModelFormatException"/> against <paramref name="fileName"/> whose message names it.</summary>
    public static ModelFormatException RejectsFile(HostileCheckpoint checkpoint, string fileName)
    {
        var error = Assert.Throws<ModelFormatException>(() => checkpoint.Load().Dispose());
        Assert.Equal(checkpoint.PathOf(fileName), error.FilePath);
        Assert.StartsWith(error.FilePath + ":", error.Message);
        return error;
    }
}
